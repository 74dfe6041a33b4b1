"""``python -m autoaccel``: see :mod:`autoaccel.cli.main`."""

import sys

try:
    from autoaccel.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while autoaccel itself loads: the program never started
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    sys.exit(130)

sys.exit(main())
