"""``python -m hwgen.cli``: the ``hwgen`` command."""

import sys

from hwgen.cli import main

sys.exit(main())
