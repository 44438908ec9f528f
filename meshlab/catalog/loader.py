"""Load a mesh: the manifest, each domain's folder, every contract in it.

One domain's broken contract never takes the mesh down: the error is kept in
``Catalog.errors`` and the other contracts still load.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace

import fsspec

from meshlab.catalog.contract import Dataset, parse_contract
from meshlab.catalog.storage import StorageSettings, fsspec_options
from meshlab.catalog.yaml_reading import MAX_DESCRIPTOR_BYTES, decode, parse_yaml
from meshlab.errors import DescriptorError, MeshError, MeshLoadError

#: no object-store options: local files, or a store configured by its environment
NO_STORAGE = StorageSettings()

CONTRACT_SUFFIXES = (".odcs.yaml", ".odcs.yml")
# The names datacontract-cli gives contracts: taken as ODCS when they say ``kind: DataContract``.
CONTRACT_NAMES = ("datacontract.yaml", "datacontract.yml", "odcs.yaml", "odcs.yml")


def is_contract_file(path: str) -> bool:
    """Whether ``path`` is named as a data contract (``*.odcs.yaml``, ``datacontract.yaml``, ...)."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    return (
        name.endswith(CONTRACT_SUFFIXES)
        or name in CONTRACT_NAMES
        or name.endswith(("-odcs.yaml", ".datacontract.yaml"))
    )


def _named_only(path: str) -> bool:
    """A file named as datacontract-cli names contracts, not with the ``.odcs.yaml`` suffix."""
    return not path.lower().endswith(CONTRACT_SUFFIXES)


@dataclass(frozen=True)
class MeshManifest:
    """What ``mesh.yaml`` says: the mesh's name, its domains and extra settings."""

    name: str
    path: str
    domains: tuple[tuple[str, str], ...]
    settings: dict
    # Object-store options (``storage:``, over those given to connect()); never credentials.
    storage: StorageSettings = NO_STORAGE


def _open_text(url: str, storage: StorageSettings = NO_STORAGE) -> str:
    """The text of the descriptor at ``url``, within meshlab's limits (see :mod:`.yaml_reading`)."""
    try:
        with fsspec.open(url, "rb", **fsspec_options(url, storage.options_for(url))) as handle:
            data = handle.read(MAX_DESCRIPTOR_BYTES + 1)
    except FileNotFoundError as exc:
        raise MeshLoadError(f"{url}: file not found") from exc
    except OSError as exc:
        raise MeshLoadError(f"{url}: cannot be read ({exc})") from exc
    return decode(data, url)


def _parse_yaml(text: str, path: str):
    return parse_yaml(text, path)


def _join(base: str, location: str) -> str:
    if "://" in location or location.startswith("/"):
        return location.rstrip("/")
    if "://" in base:
        protocol, rest = base.split("://", 1)
        return f"{protocol}://{posixpath.normpath(posixpath.join(rest, location))}"
    return posixpath.normpath(posixpath.join(base, location))


def _absolute(path: str) -> str:
    if "://" in path:
        return path
    import os

    return os.path.abspath(path)


def read_manifest(path: str, storage: StorageSettings = NO_STORAGE) -> MeshManifest:
    """Read ``mesh.yaml`` at ``path`` (a local path or any fsspec URL).

    ``storage`` holds the object-store options needed to reach ``path`` itself;
    they take precedence over the manifest's own ``storage:`` section.
    """
    path = _absolute(str(path))
    raw = _parse_yaml(_open_text(path, storage), path)
    if not isinstance(raw, dict):
        raise DescriptorError(path, "a mesh manifest must be a YAML mapping")
    if raw.get("kind") == "DataContract" and "domains" not in raw:
        raise IsAContract(path)
    domains = raw.get("domains")
    if not isinstance(domains, dict) or not domains:
        raise DescriptorError(path, "domains must map each domain name to its folder", "domains")
    base = posixpath.dirname(path)
    pairs = tuple((str(name), _join(base, str(location))) for name, location in domains.items())
    settings = {k: v for k, v in raw.items() if k not in ("mesh", "domains")}
    own = StorageSettings.parse(settings.get("storage"), path)
    return MeshManifest(
        name=str(raw.get("mesh") or posixpath.basename(base)),
        path=path,
        domains=pairs,
        settings=settings,
        storage=own.merged(storage),
    )


def find_contracts(folder: str, storage: StorageSettings = NO_STORAGE) -> list[str]:
    """Every file below ``folder`` named as a contract (:func:`is_contract_file`), sorted."""
    fs, root = fsspec.core.url_to_fs(folder, **fsspec_options(folder, storage.options_for(folder)))
    if not fs.exists(root):
        raise MeshLoadError(f"domain folder {folder} does not exist")
    found = [p for p in fs.find(root) if is_contract_file(p)]
    protocol = folder.split("://", 1)[0] + "://" if "://" in folder else ""
    return sorted(protocol + p if protocol and "://" not in p else p for p in found)


class IsAContract(Exception):
    """A ``.yaml`` file given as a mesh that is one data contract (a mesh of one)."""


class NotAContract(Exception):
    """A file named like datacontract-cli's contracts that is not ODCS (e.g. a DCS document)."""


def load_contract_file(
    path: str, domain: str, storage: StorageSettings = NO_STORAGE, parsed: dict | None = None
) -> list[Dataset]:
    """Parse one contract file into its datasets (addresses not yet assigned).

    Raises :class:`DescriptorError` (or :class:`NotAContract`); any other
    failure of the reader is turned into a DescriptorError naming the file,
    so one contract never takes the mesh down.
    """
    raw = parsed[path] if parsed and path in parsed else _parse_yaml(_open_text(path, storage), path)
    if _named_only(path) and not (isinstance(raw, dict) and raw.get("kind") == "DataContract"):
        raise NotAContract(path)
    try:
        return parse_contract(raw, path, domain)
    except DescriptorError:
        raise
    except Exception as exc:  # noqa: BLE001 - a reader bug must not take the mesh down
        raise DescriptorError(path, f"cannot be read: {type(exc).__name__}: {exc}") from exc


def load_datasets(
    manifest: MeshManifest, parsed: dict | None = None
) -> tuple[list[Dataset], list[DescriptorError], list[str]]:
    """Load every domain of ``manifest``; collect errors and warnings instead of failing.

    ``parsed``: contract path -> its document, for files already read.
    """
    datasets: list[Dataset] = []
    errors: list[DescriptorError] = []
    warnings: list[str] = []
    for domain, folder in manifest.domains:
        try:
            single = is_contract_file(folder) or bool(parsed and folder in parsed)
            files = [folder] if single else find_contracts(folder, manifest.storage)
        except MeshLoadError as exc:
            errors.append(DescriptorError(manifest.path, str(exc), f"domains.{domain}"))
            continue
        for path in files:
            try:
                found = load_contract_file(path, domain, manifest.storage, parsed)
            except DescriptorError as exc:
                errors.append(exc)
                continue
            except MeshLoadError as exc:
                errors.append(DescriptorError(path, str(exc)))
                continue
            except NotAContract:
                warnings.append(f"{path}: not an ODCS contract (no 'kind: DataContract'): skipped")
                continue
            if not found:
                warnings.append(f"{path}: lists no schema objects: nothing to catalogue")
                continue
            declared = found[0].descriptor.get("domain")
            if declared and str(declared) != domain:
                warnings.append(f"{path}: domain '{declared}' differs from the manifest's key '{domain}'")
            datasets.extend(found)
    kept, clashes = assign_addresses(datasets)
    return kept, errors + clashes, warnings


def assign_addresses(datasets: list[Dataset]) -> tuple[list[Dataset], list[DescriptorError]]:
    """Give every dataset its shortest unambiguous address.

    ``domain.name`` when the name is unique in its domain, else
    ``domain.product.name``; two datasets with the same product and name
    are a clash: the later one is dropped and reported.
    """
    by_name: dict[tuple[str, str], list[Dataset]] = {}
    for ds in datasets:
        by_name.setdefault((ds.domain.lower(), ds.name.lower()), []).append(ds)
    kept: list[Dataset] = []
    errors: list[DescriptorError] = []
    for group in by_name.values():
        if len(group) == 1:
            kept.append(replace(group[0], address=f"{group[0].domain}.{group[0].name}"))
            continue
        seen: dict[str, Dataset] = {}
        for ds in group:
            key = ds.product.lower()
            if key in seen:
                errors.append(
                    DescriptorError(
                        ds.contract_path,
                        f"dataset '{ds.domain}.{ds.product}.{ds.name}' is also defined in {seen[key].contract_path}",
                        "schema.name",
                    )
                )
                continue
            seen[key] = ds
            kept.append(replace(ds, address=f"{ds.domain}.{ds.product}.{ds.name}"))
    return kept, errors


def load_single(
    path: str, storage: StorageSettings = NO_STORAGE, contract: bool = False
) -> tuple[MeshManifest, list[Dataset], list[DescriptorError], list[str]]:
    """A mesh of one: ``path`` is a domain folder or one contract file."""
    path = _absolute(str(path))
    name = posixpath.basename(path.rstrip("/")).split(".")[0]
    parsed = {}
    if contract or is_contract_file(path):
        try:  # read once: the domain is the contract's own
            parsed[path] = _parse_yaml(_open_text(path, storage), path)
            name = str((parsed[path].get("domain") if isinstance(parsed[path], dict) else None) or name)
        except MeshError:
            pass  # reported by load_datasets below, which reads the file again
    manifest = MeshManifest(name=name, path=path, domains=((name, path),), settings={}, storage=storage)
    datasets, errors, warnings = load_datasets(manifest, parsed)
    return manifest, datasets, errors, warnings
