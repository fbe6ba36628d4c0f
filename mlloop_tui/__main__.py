"""``python -m mlloop_tui`` is the ``mlloop`` command."""

import sys

from mlloop_tui.cli import main

sys.exit(main())
