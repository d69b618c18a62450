"""`python -m jobdesk.cli` is the `jobdesk` command."""

import sys

from jobdesk.cli import main

sys.exit(main())
