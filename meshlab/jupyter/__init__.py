"""Jupyter front ends: magics, completion, rich display, the catalog widget. All thin."""
