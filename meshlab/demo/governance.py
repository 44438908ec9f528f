"""The demo's governance: a policy file and a governed manifest beside ``mesh.yaml``.

``mesh.yaml`` stays open (no policy) so the first notebooks see everything;
``mesh-governed.yaml`` names the same domains with ``policies.yaml`` and an
audit log, for the governance notebook and tests.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from meshlab.demo.sizes import SNAPSHOT

POLICY = {
    "users": {"ana": ["steward", "analyst"], "*": ["analyst"]},
    "roles": {
        "analyst": {
            "read": ["plays.*", "artists.*", "listeners.profiles"],
            "unmask": [],
            "row_filters": {"listeners.profiles": "country IN ('DE', 'FR', 'SE')"},
        },
        "steward": {"read": ["*"], "unmask": ["pii", "restricted"]},
    },
    "masks": {"pii": "redact", "restricted": "hash"},
    "domain_policies": {},
}

GOVERNED_MANIFEST = "mesh-governed.yaml"


def write_governance(root: Path, domains: tuple[str, ...]) -> Path:
    """Write ``policies.yaml`` and ``mesh-governed.yaml`` into ``root``; return the manifest."""
    root = Path(root)
    (root / "policies.yaml").write_text(
        "# Who may read what in the demo mesh (see the governance notebook).\n"
        + yaml.safe_dump(POLICY, sort_keys=False),
        encoding="utf-8",
    )
    manifest = {
        "mesh": "music",
        "domains": {d: f"domains/{d}" for d in domains},
        "policies": "policies.yaml",
        "checks": {"as_of": SNAPSHOT},  # the data is a snapshot: see mesh.yaml
        "audit": {
            "log": "audit/queries.jsonl",
            "openlineage": {"transport": "file", "path": "audit/openlineage.jsonl"},
        },
    }
    path = root / GOVERNED_MANIFEST
    path.write_text(
        "# The demo mesh under governance: same domains, with roles, masks and an audit log.\n"
        + yaml.safe_dump(manifest, sort_keys=False),
        encoding="utf-8",
    )
    return path
