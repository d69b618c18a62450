"""jobdesk: jobs for fleets of industrial routers, run from a field engineer's laptop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jobdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
