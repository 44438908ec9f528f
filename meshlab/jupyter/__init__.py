"""Jupyter front ends: magics, completion, the catalog widget, the server extension. All thin: they render with meshlab.rendering."""
