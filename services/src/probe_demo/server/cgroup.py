"""The container's own limits and counters, read from its cgroup (v1 or v2).

They are what the kernel enforces: the memory usage the OOM killer compares with the limit,
the OOM kills, and the CFS periods in which the container was throttled. /ui shows them beside
what the faults hold and burn, so an OOM kill and throttling can be watched as they happen.

A container sees its own cgroup at the root of /sys/fs/cgroup; a process on a host sees the
whole hierarchy there, and its own cgroup under the path /proc/self/cgroup names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path("/sys/fs/cgroup")
SELF = Path("/proc/self/cgroup")
# cgroup v1 writes "no limit" as the largest page-aligned 63-bit number.
UNLIMITED = 2**62


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _number(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text.split()[0]) if text else None
    except ValueError:
        return None


def _keyed(path: Path) -> dict[str, int]:
    """A flat keyed file (cpu.stat, memory.events, memory.stat): name -> number."""
    values: dict[str, int] = {}
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[name] = int(value)
    return values


def _limit(value: int | None) -> int | None:
    return None if value is None or value >= UNLIMITED else value


class Cgroup:
    def __init__(self, root: Path = ROOT, self_cgroup: Path = SELF):
        self.root = root
        paths: dict[str, str] = {}
        for line in (_read(self_cgroup) or "").splitlines():
            if line.count(":") < 2:
                continue
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
        if (root / "cgroup.controllers").exists():
            self.version: int | None = 2
            self.memory_dir = self.cpu_dir = self.cpuacct_dir = self._own(root, paths.get(""))
        elif (root / "memory").is_dir():
            self.version = 1
            self.memory_dir = self._own(root / "memory", paths.get("memory"))
            self.cpu_dir = self._own(root / "cpu", paths.get("cpu"))
            self.cpuacct_dir = self._own(root / "cpuacct", paths.get("cpuacct"))
        else:
            self.version = None

    @staticmethod
    def _own(base: Path, path: str | None) -> Path:
        """This process's folder under `base`: the named path on a host, the root inside a
        container (where the named path does not exist)."""
        if path and path != "/":
            own = base / path.lstrip("/")
            if own.is_dir():
                return own
        return base

    def read(self) -> dict[str, Any]:
        if self.version == 2:
            return self._read_v2()
        if self.version == 1:
            return self._read_v1()
        return {"version": None}

    def _read_v2(self) -> dict[str, Any]:
        memory, cpu = self.memory_dir, self.cpu_dir
        usage = _number(memory / "memory.current")
        limit_text = (_read(memory / "memory.max") or "").strip()
        stat = _keyed(memory / "memory.stat")
        cpu_stat = _keyed(cpu / "cpu.stat")
        quota, _, period = (_read(cpu / "cpu.max") or "").strip().partition(" ")
        return self._reading(
            version=2, usage=usage,
            limit=int(limit_text) if limit_text.isdigit() else None,
            inactive_file=stat.get("inactive_file"),
            peak=_number(memory / "memory.peak"),
            oom_kills=_keyed(memory / "memory.events").get("oom_kill"),
            quota_us=int(quota) if quota.isdigit() else None,
            period_us=int(period) if period.isdigit() else None,
            usage_ns=_ns(cpu_stat.get("usage_usec"), 1000),
            periods=cpu_stat.get("nr_periods"), throttled=cpu_stat.get("nr_throttled"),
            throttled_ns=_ns(cpu_stat.get("throttled_usec"), 1000),
        )

    def _read_v1(self) -> dict[str, Any]:
        memory, cpu = self.memory_dir, self.cpu_dir
        stat = _keyed(memory / "memory.stat")
        cpu_stat = _keyed(cpu / "cpu.stat")
        quota = _number(cpu / "cpu.cfs_quota_us")
        return self._reading(
            version=1, usage=_number(memory / "memory.usage_in_bytes"),
            limit=_limit(_number(memory / "memory.limit_in_bytes")),
            inactive_file=stat.get("total_inactive_file", stat.get("inactive_file")),
            peak=_number(memory / "memory.max_usage_in_bytes"),
            oom_kills=_keyed(memory / "memory.oom_control").get("oom_kill"),
            quota_us=quota if quota is not None and quota > 0 else None,
            period_us=_number(cpu / "cpu.cfs_period_us"),
            usage_ns=_number(self.cpuacct_dir / "cpuacct.usage"),
            periods=cpu_stat.get("nr_periods"), throttled=cpu_stat.get("nr_throttled"),
            throttled_ns=cpu_stat.get("throttled_time"),
        )

    @staticmethod
    def _reading(*, version: int, usage: int | None, limit: int | None,
                 inactive_file: int | None, peak: int | None, oom_kills: int | None,
                 quota_us: int | None, period_us: int | None, usage_ns: int | None,
                 periods: int | None, throttled: int | None,
                 throttled_ns: int | None) -> dict[str, Any]:
        working_set = None
        if usage is not None:
            working_set = max(0, usage - (inactive_file or 0))
        cpu_limit = None
        if quota_us and period_us:
            cpu_limit = round(quota_us / period_us, 3)
        return {
            "version": version,
            "memory": {
                # What `kubectl top` shows: usage less the page cache the kernel can drop.
                "working_set_bytes": working_set,
                "usage_bytes": usage,
                "limit_bytes": limit,
                "peak_bytes": peak,
                "oom_kills": oom_kills,
            },
            "cpu": {
                "limit_cpus": cpu_limit,
                "usage_seconds": None if usage_ns is None else usage_ns / 1e9,
                "periods": periods,
                "throttled_periods": throttled,
                "throttled_seconds": None if throttled_ns is None else throttled_ns / 1e9,
            },
        }


def _ns(value: int | None, per_unit: int) -> int | None:
    return None if value is None else value * per_unit
