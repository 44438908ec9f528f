"""Jupyter front ends: magics, completion, the catalog widget, the server extension (all thin; see meshlab.rendering)."""
