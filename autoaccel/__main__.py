"""``python -m autoaccel``: see :mod:`autoaccel.cli.main`."""

import sys

from autoaccel.cli.main import main

sys.exit(main())
