"""Fault injection: a small governed mesh over every source kind, ways to break its
sources (schema drift, damaged files, locks) and a deterministic corpus of bad SQL."""
