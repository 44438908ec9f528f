"""The catalog: every dataset of a mesh, addressable and searchable."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field

from meshlab.catalog.contract import Column, Dataset, Server
from meshlab.catalog.loader import (
    IsAContract,
    MeshManifest,
    is_contract_file,
    load_datasets,
    load_single,
    read_manifest,
)
from meshlab.catalog.root_paths import mesh_root, relative_to_root
from meshlab.catalog.search import SearchIndex
from meshlab.catalog.storage import StorageSettings
from meshlab.errors import AmbiguousDatasetError, DescriptorError, UnknownDatasetError
from meshlab.limits import TimeLimits

__all__ = ["Catalog", "Column", "Dataset", "Server", "load_catalog"]


@dataclass
class Catalog:
    """The loaded mesh: its datasets by address, and what failed to load."""

    manifest: MeshManifest
    datasets: list[Dataset]
    errors: list[DescriptorError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.datasets = sorted(self.datasets, key=lambda d: d.address)
        self._by_address = {d.address.lower(): d for d in self.datasets}
        # The long form domain.product.name always works, even when unambiguous.
        self._long: dict[str, Dataset] = {}
        for ds in self.datasets:
            self._long.setdefault(f"{ds.domain}.{ds.product}.{ds.name}".lower(), ds)
        self._index: SearchIndex | None = None

    @property
    def name(self) -> str:
        return self.manifest.name

    @functools.cached_property
    def root(self) -> str:
        """The folder the mesh's paths are shown relative to (:func:`mesh_root`; looked up once)."""
        return mesh_root(self.manifest.path)

    @functools.cached_property
    def invalid(self) -> list[DescriptorError]:
        """Catalogued contracts that are not valid ODCS by the official schema of their apiVersion.

        Computed on first use (about 0.1 s per 10 kB contract, then cached by
        content): loading stays lenient and fast, and these datasets still load.
        """
        from meshlab.catalog.odcs_schema import verdict
        from meshlab.errors import DescriptorError as Invalid

        found, seen = [], set()
        for ds in self.datasets:
            if ds.contract_path in seen:
                continue
            seen.add(ds.contract_path)
            judged = verdict(ds.descriptor)
            if judged is None:
                continue
            count, first = judged
            if first is not None:
                more = f" (and {count - 1} more: run meshlab lint)" if count > 1 else ""
                field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.where).lstrip(".") or None
                found.append(
                    Invalid(
                        ds.contract_path,
                        f"not valid ODCS {ds.descriptor.get('apiVersion')}: {first.message}{more}",
                        field,
                    )
                )
        return found

    @property
    def notices(self) -> list[str]:
        """Valid datasets meshlab cannot query here, each with why (never errors)."""
        return [f"{d.contract_path}: {d.address}: not queryable here: {d.unavailable}" for d in self.datasets
                if d.unavailable]  # fmt: skip

    def resolve(self, address: str) -> Dataset:
        """The dataset at ``address`` (case-insensitive), or a helpful error."""
        key = address.lower()
        found = self._by_address.get(key) or self._long.get(key)
        if found:
            return found
        parts = key.split(".")
        if len(parts) == 2:
            candidates = [
                d.address for d in self.datasets if d.domain.lower() == parts[0] and d.name.lower() == parts[1]
            ]
            if candidates:
                raise AmbiguousDatasetError(address, candidates)
        raise UnknownDatasetError(address, self.suggest(address))

    def suggest(self, address: str, n: int = 3) -> list[str]:
        names = [d.address for d in self.datasets]
        lowered = {a.lower(): a for a in names}
        close = difflib.get_close_matches(address.lower(), list(lowered), n=n, cutoff=0.5)
        if not close:
            tail = address.lower().split(".")[-1]
            close = [a for a in lowered if a.split(".")[-1] == tail][:n]
        return [lowered[c] for c in close]

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        if self._index is None:
            self._index = SearchIndex(self.datasets)
        return self._index.search(text, limit)


def load_catalog(path: str, storage: StorageSettings | None = None, timeouts=None) -> Catalog:
    """Load the mesh at ``path``: a ``mesh.yaml``, a domain folder or one contract file.

    ``storage`` has the object-store options needed to reach ``path`` (see
    :mod:`meshlab.catalog.storage`); the manifest's ``storage:`` adds to them.
    ``timeouts``: time limits in mesh.yaml's ``timeouts:`` form, over the manifest's
    (see :mod:`meshlab.limits`).
    """
    text = str(path)
    storage = storage or StorageSettings()
    limits = TimeLimits.parse(timeouts, "connect(timeouts=...)")
    if is_contract_file(text) or not text.endswith((".yaml", ".yml")):
        manifest, datasets, errors, warnings = load_single(text, storage, limits)
    else:
        try:
            manifest = read_manifest(text, storage, limits, timeouts)
            datasets, errors, warnings = load_datasets(manifest)
        except IsAContract:  # orders.yaml holding one contract: a mesh of one, like orders.odcs.yaml
            manifest, datasets, errors, warnings = load_single(text, storage, limits, contract=True)
    root = mesh_root(manifest.path)  # files of the mesh are named relative to its folder
    errors = [e.with_path(relative_to_root(e.path, root)) if isinstance(e, DescriptorError) else e for e in errors]
    return Catalog(manifest, datasets, errors, warnings)
