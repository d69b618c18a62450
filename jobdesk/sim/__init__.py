"""A simulated fleet of routers that speaks SSH and SFTP like the real ones."""

from jobdesk.sim.cli import main, run_fleet
from jobdesk.sim.device import SimDevice, firmware_image
from jobdesk.sim.faults import FaultSpecError, parse_faults
from jobdesk.sim.fleet import SimFleet
from jobdesk.sim.server import host_key

__all__ = [
    "FaultSpecError",
    "SimDevice",
    "SimFleet",
    "firmware_image",
    "host_key",
    "main",
    "parse_faults",
    "run_fleet",
]
