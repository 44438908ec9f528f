"""Infrastructure shared by the test suite and the benchmarks (not used by meshlab itself)."""
