"""Test infrastructure shared by the tests and the benchmarks (not part of the meshlab package).

The tests import it as ``support`` (pytest puts ``tests/`` on the path); the benchmarks put
``tests/`` on the path first (``benchmarks/_support_path.py``).
"""
