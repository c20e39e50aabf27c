"""The cgroup reader against cgroup v1 and v2 trees laid out as the kernel writes them."""

from pathlib import Path

import pytest

from probe_demo.server.cgroup import Cgroup


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


V2_CONTAINER = {
    "cgroup.controllers": "cpuset cpu io memory pids\n",
    "memory.current": "73400320\n",
    "memory.max": "104857600\n",
    "memory.peak": "90000000\n",
    "memory.stat": "anon 60000000\nfile 13400320\ninactive_file 3400320\nactive_file 10000000\n",
    "memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n",
    "cpu.max": "50000 100000\n",
    "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
                "nr_periods 120\nnr_throttled 45\nthrottled_usec 1800000\n",
}

V1_CONTAINER = {
    "memory/memory.usage_in_bytes": "73400320\n",
    "memory/memory.limit_in_bytes": "104857600\n",
    "memory/memory.max_usage_in_bytes": "90000000\n",
    "memory/memory.stat": "cache 13400320\nrss 60000000\ninactive_file 3400320\n"
                          "total_inactive_file 3400320\n",
    "memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
    "cpu/cpu.cfs_quota_us": "50000\n",
    "cpu/cpu.cfs_period_us": "100000\n",
    "cpu/cpu.stat": "nr_periods 120\nnr_throttled 45\nthrottled_time 1800000000\n",
    "cpuacct/cpuacct.usage": "2500000000\n",
}

EXPECTED = {
    "memory": {"working_set_bytes": 70000000, "usage_bytes": 73400320,
               "limit_bytes": 104857600, "peak_bytes": 90000000, "oom_kills": 1},
    "cpu": {"limit_cpus": 0.5, "usage_seconds": 2.5, "periods": 120, "throttled_periods": 45,
            "throttled_seconds": 1.8},
}


@pytest.mark.parametrize(("version", "files", "own"), [
    (2, V2_CONTAINER, "0::/\n"),
    # Inside a container with the host's cgroup namespace, /proc/self/cgroup names a path the
    # container's mount does not have: the root of the mount is the container's own cgroup.
    (1, V1_CONTAINER, "4:memory:/kubepods/burstable/pod1/abc\n3:cpu,cpuacct:/kubepods/x\n"),
])
def test_a_containers_limits_and_counters_are_read(tmp_path, version, files, own):
    write(tmp_path / "fs", files)
    write(tmp_path, {"self": own})
    assert Cgroup(tmp_path / "fs", tmp_path / "self").read() == {"version": version, **EXPECTED}


def test_on_a_host_the_process_reads_its_own_cgroup_not_the_root(tmp_path):
    write(tmp_path / "fs", {"memory/memory.usage_in_bytes": "999\n",
                            **{f"memory/work/{k.split('/')[1]}": v
                               for k, v in V1_CONTAINER.items() if k.startswith("memory/")},
                            "cpu/cpu.stat": "nr_periods 0\n"})
    write(tmp_path, {"self": "4:memory:/work\n1:cpu:/\n"})
    reading = Cgroup(tmp_path / "fs", tmp_path / "self").read()
    assert reading["memory"]["usage_bytes"] == 73400320


def test_no_limit_reads_as_none(tmp_path):
    write(tmp_path / "v1", {"memory/memory.limit_in_bytes": "9223372036854771712\n",
                            "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    write(tmp_path / "v2", {"cgroup.controllers": "", "memory.max": "max\n",
                            "cpu.max": "max 100000\n"})
    write(tmp_path, {"self": "0::/\n"})
    for tree in ("v1", "v2"):
        reading = Cgroup(tmp_path / tree, tmp_path / "self").read()
        assert (reading["memory"]["limit_bytes"], reading["cpu"]["limit_cpus"]) == (None, None)


def test_missing_or_odd_files_give_none_not_an_error(tmp_path):
    write(tmp_path / "fs", {"cgroup.controllers": "", "memory.current": "garbage\n",
                            "cpu.stat": "nr_periods\nbad line here\n"})
    write(tmp_path, {"self": "not a cgroup line\n0::/\n"})
    reading = Cgroup(tmp_path / "fs", tmp_path / "self").read()
    assert reading["memory"]["usage_bytes"] is None
    assert reading["cpu"]["periods"] is None


def test_without_a_cgroup_filesystem_the_version_is_none(tmp_path):
    assert Cgroup(tmp_path / "none", tmp_path / "self").read() == {"version": None}
