"""jobdesk: jobs for fleets of industrial routers, run from a field engineer's laptop."""

# pyproject.toml's version (tests/test_ship.py holds them equal), shown by `--version` and
# About; a constant rather than importlib.metadata, which costs 40 ms at every start.
__version__ = "0.1.0"
