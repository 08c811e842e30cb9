"""``python -m maple_tree``: the ``maple-tree`` command line, with the same
commands, messages and exit status (see :mod:`maple_tree.cli`)."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":  # importing this module (doctest collection) runs nothing
    sys.exit(main())
