"""``python -m rstheory``: the command-line interface of :mod:`rstheory._cli`."""

import sys

from rstheory._cli import main

if __name__ == "__main__":
    sys.exit(main())
