"""``python -m autoaccel``: see :mod:`autoaccel._cli`."""

import sys

from autoaccel._cli import main

sys.exit(main())
