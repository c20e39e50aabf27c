import pytest

from probe_demo.server.config import ConfigError, Settings, parse_size


def test_each_variant_brings_its_seed_port_and_drain():
    assert Settings.load(env={"PROBE_DEMO_VARIANT": "unhealthy"}).port == 8000
    assert Settings.load(env={"PROBE_DEMO_VARIANT": "failing"}).port == 5000
    assert Settings.load(env={"PROBE_DEMO_VARIANT": "hello"}).port == 5000
    assert Settings.load(env={"PROBE_DEMO_VARIANT": "date"}).port == 8080
    graceful = Settings.load(env={"PROBE_DEMO_VARIANT": "graceful"})
    assert (graceful.port, graceful.drain_seconds) == (8080, 5.0)
    assert Settings.load(env={"PROBE_DEMO_VARIANT": "hello"}).drain_seconds == 0.0


def test_flags_win_over_environment():
    settings = Settings.load(env={"PROBE_DEMO_PORT": "1234", "PROBE_DEMO_TAG": "green"}, port=4321)
    assert settings.port == 4321
    assert settings.tag == "green"


def test_unknown_variables_are_refused_naming_them():
    with pytest.raises(ConfigError, match=r"^PROBE_DEMO_DRAIN_SECOND: no such setting"):
        Settings.load(env={"PROBE_DEMO_DRAIN_SECOND": "5"})


def test_kubernetes_service_links_are_not_taken_for_settings():
    links = {"PROBE_DEMO_X_SERVICE_HOST": "10.96.0.9", "PROBE_DEMO_X_SERVICE_PORT": "80",
             "PROBE_DEMO_X_SERVICE_PORT_HTTP": "80", "PROBE_DEMO_X_PORT": "tcp://10.96.0.9:80",
             "PROBE_DEMO_X_PORT_80_TCP_ADDR": "10.96.0.9"}
    assert Settings.load(env=links).port == 8080


def test_other_variables_are_left_alone():
    assert Settings.load(env={"PROBE_DEMOS": "1", "HOME": "/root"}).variant == "graceful"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PROBE_DEMO_VARIANT": "healthy"}, "PROBE_DEMO_VARIANT (--variant)='healthy': unknown"),
        ({"PROBE_DEMO_PORT": "http"}, "PROBE_DEMO_PORT (--port)='http': not a whole number"),
        ({"PROBE_DEMO_PORT": "70000"}, "PROBE_DEMO_PORT (--port)='70000': out of range"),
        ({"PROBE_DEMO_HEALTHY_CHECKS": "-1"}, "PROBE_DEMO_HEALTHY_CHECKS (--healthy-checks)"),
        ({"PROBE_DEMO_MEMORY_AT_START": "lots"}, "PROBE_DEMO_MEMORY_AT_START (--memory-at-start)"),
        ({"PROBE_DEMO_DRAIN_SECONDS": "-3"}, "must not be negative"),
        ({"PROBE_DEMO_ENABLE_FAULTS": "maybe"}, "not a boolean"),
        ({"PROBE_DEMO_DRAIN_SECONDS": "nan"}, "(--drain-seconds)='nan': not a number of seconds"),
        ({"PROBE_DEMO_HEALTH_FILE_TTL": "inf"}, "(--health-file-ttl)='inf'"),
        ({"PROBE_DEMO_MEMORY_AT_START": "1" * 400}, "above the cap of 4Gi"),
        ({"PROBE_DEMO_MEMORY_AT_START": "nan"}, "not a size"),
    ],
)
def test_bad_environment_names_the_variable(env, named):
    with pytest.raises(ConfigError) as caught:
        Settings.load(env=env)
    assert named in str(caught.value)


def test_bad_flag_names_the_flag_first():
    with pytest.raises(ConfigError, match=r"^--port \(PROBE_DEMO_PORT\)='0': out of range"):
        Settings.load(env={}, port="0")


@pytest.mark.parametrize(
    ("text", "size"),
    [("150M", 150_000_000), ("100Mi", 100 * 2**20), ("1Gi", 2**30), ("4096", 4096),
     ("1.5Ki", 1536), ("2 MB", 2_000_000)],
)
def test_parse_size_reads_kubernetes_quantities(text, size):
    assert parse_size(text) == size


def test_parse_size_caps_what_may_be_held():
    assert parse_size("4Gi") == 4 * 2**30
    for text in ("4.1Gi", "5G", "9" * 400):
        with pytest.raises(ValueError, match="above the cap of 4Gi"):
            parse_size(text)


@pytest.mark.parametrize("text", ["", "12XB", "-5Mi", "Mi", "1.2.3M", "inf", "nan"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)
