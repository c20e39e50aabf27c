"""probe-demo: servers that make Kubernetes probes, limits and rollouts visible."""

# The one place the app version is written (pyproject.toml reads it; the chart's appVersion
# and image tag must match it, which tests/chart checks). A constant, not
# importlib.metadata: that import alone costs a tenth of a second at every start.
__version__ = "0.8.1"
