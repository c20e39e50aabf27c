"""probe-demo: servers that make Kubernetes probes, limits and rollouts visible."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("probe-demo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
