"""Paths as people read them: relative to the mesh's root folder, the root itself shown once.

A plan, a pushdown report or an error names the files a source reads. Written
out in full they repeat the machine's folders on every line (and stored notebook
outputs would carry where a notebook ran); written relative to the mesh they
read like the contracts that name them.
"""

from __future__ import annotations

import os
import posixpath


def mesh_root(manifest_path: str) -> str:
    """The folder a mesh's paths are shown relative to: the manifest's folder (a domain folder itself).

    Local roots are absolute; URL roots (``s3://bucket/mesh``) stay URLs.
    """
    text = str(manifest_path)
    if "://" in text:
        return text.rstrip("/") if not text.endswith((".yaml", ".yml")) else posixpath.dirname(text)
    absolute = os.path.abspath(os.path.expanduser(text))
    return absolute if os.path.isdir(absolute) else os.path.dirname(absolute)


def relative_to_root(text: str, root: str | None) -> str:
    """``text`` with every path below ``root`` written relative to it.

    Paths elsewhere are left as they are: a file outside the mesh is worth seeing in full.
    """
    if not root or root in ("/", "") or not text:
        return text
    prefix = root.rstrip("/\\") + ("/" if "://" in root else os.sep)
    return text.replace(prefix, "")


def root_label(root: str, cwd: str | None = None) -> str:
    """How to name the root once: relative to the working folder when it lies below it or beside it."""
    if "://" in root:
        return root
    cwd = cwd or os.getcwd()
    try:
        relative = os.path.relpath(root, cwd)
    except ValueError:  # another drive (Windows)
        return root
    return root if relative.startswith(os.pardir + os.sep + os.pardir) else relative
