"""``python -m perception3d`` is the ``perception3d`` command."""

import sys

from perception3d.cli import main

sys.exit(main())
