"""Puts the repository's ``tests/`` on ``sys.path``, so a benchmark imports the test infrastructure as ``support``.

The throwaway PostgreSQL server and the query mix live in ``tests/support`` (outside the
meshlab package: they do not ship in the wheel). A benchmark that needs them starts with::

    import _support_path  # noqa: F401
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
