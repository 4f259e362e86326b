"""``python -m stsstudio.cli``: the headless commands only."""

import sys

from stsstudio.cli import main

sys.exit(main())
