"""`python -m draw`: see draw.cli."""

import sys

from draw.cli import main

sys.exit(main())
