"""``python -m smoothgrid``: the command line (see :mod:`smoothgrid.cli`)."""

import sys

from .cli import main

sys.exit(main())
