"""`python -m jobdesk.sim`: the same as `jobdesk sim`."""

import sys

from jobdesk.sim.cli import main

sys.exit(main())
