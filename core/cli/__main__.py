"""``python -m core.cli``: the same as the ``metarec`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
