"""Load a mesh: the manifest, each domain's folder, every contract in it.

One domain's broken contract never takes the mesh down: the error is kept in
``Catalog.errors`` and the other contracts still load. Domains on object stores
or HTTP load side by side, and one whose server does not answer within the
connect limit (``timeouts.connect``) is given up: an error names it and its
server, the rest of the mesh loads.
"""

from __future__ import annotations

import posixpath
import threading
import time
from dataclasses import dataclass, field, replace

from meshlab.catalog.contract import Dataset, parse_contract
from meshlab.catalog.storage import StorageSettings, filesystem, protocol_of
from meshlab.catalog.yaml_reading import MAX_DESCRIPTOR_BYTES, decode, parse_yaml
from meshlab.errors import DescriptorError, MeshError, MeshLoadError
from meshlab.limits import TimeLimits, seconds_text, timeout_in

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
    # ``timeouts:`` (see meshlab.limits)
    limits: TimeLimits = field(default_factory=TimeLimits)


def _open_text(url: str, storage: StorageSettings = NO_STORAGE, limits: TimeLimits | None = None) -> str:
    try:
        fs, path = filesystem(url, storage.options_for(url), limits)
        with fs.open(path, "rb") as handle:  # bounded: see meshlab.catalog.yaml_reading
            data = handle.read(MAX_DESCRIPTOR_BYTES + 1)
    except FileNotFoundError as exc:
        if timeout_in(exc) is None:  # fsspec's HTTP reports a timeout as a missing file
            raise MeshLoadError(f"{url}: file not found") from exc
        raise MeshLoadError(f"{url}: cannot be read ({_reason(exc)})") from exc
    except Exception as exc:  # noqa: BLE001 - OSError, timeouts, and object stores' own errors (botocore, aiohttp)
        raise MeshLoadError(f"{url}: cannot be read ({_reason(exc)})") from exc
    return decode(data, url)


def _reason(exc: BaseException) -> str:
    timeout = timeout_in(exc)
    if timeout is not None:
        return f"no answer in time (timeouts.metadata): {type(timeout).__name__}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


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


def read_manifest(
    path: str, storage: StorageSettings = NO_STORAGE, limits: TimeLimits | None = None, overrides=None
) -> MeshManifest:
    """Read ``mesh.yaml`` at ``path`` (a local path or any fsspec URL).

    ``storage`` holds the object-store options needed to reach ``path`` itself;
    they take precedence over the manifest's own ``storage:`` section. ``limits``
    bound reading ``path``; the manifest's ``timeouts:``, updated with ``overrides``
    (a mapping of the same form), bound the rest.
    """
    path = _absolute(str(path))
    raw = _parse_yaml(_open_text(path, storage, limits), path)
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
        limits=TimeLimits.parse({**(settings.get("timeouts") or {}), **(overrides or {})}, path),
    )


def find_contracts(
    folder: str, storage: StorageSettings = NO_STORAGE, limits: TimeLimits | None = None, answered=None
) -> list[str]:
    """Every file below ``folder`` named as a contract (:func:`is_contract_file`), sorted.

    ``answered`` (a ``threading.Event``) is set once the folder's server has answered.
    """
    try:
        fs, root = filesystem(folder, storage.options_for(folder), limits)
        exists = fs.exists(root)
        if answered is not None:
            answered.set()
        if not exists:
            raise MeshLoadError(f"domain folder {folder} does not exist")
        found = [p for p in fs.find(root) if is_contract_file(p)]
    except MeshLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - OSError, timeouts, and object stores' own errors
        raise MeshLoadError(f"domain folder {folder} cannot be listed ({_reason(exc)})") from exc
    protocol = folder.split("://", 1)[0] + "://" if "://" in folder else ""
    return sorted(protocol + p if protocol and "://" not in p else p for p in found)


class IsAContract(Exception):
    """A ``.yaml`` file given as a mesh that is one data contract (a mesh of one)."""


class NotAContract(Exception):
    """A file named like datacontract-cli's contracts that is not ODCS (e.g. a DCS document)."""


def load_contract_file(
    path: str,
    domain: str,
    storage: StorageSettings = NO_STORAGE,
    limits: TimeLimits | None = None,
    parsed: dict | None = None,
) -> list[Dataset]:
    """Parse one contract file into its datasets (addresses not yet assigned).

    Raises :class:`DescriptorError` (or :class:`NotAContract`); any other
    failure of the reader is turned into a DescriptorError naming the file,
    so one contract never takes the mesh down. ``parsed``: path -> document
    for files already read.
    """
    raw = parsed[path] if parsed and path in parsed else _parse_yaml(_open_text(path, storage, limits), path)
    if _named_only(path) and not (isinstance(raw, dict) and raw.get("kind") == "DataContract"):
        raise NotAContract(path)
    try:
        return parse_contract(raw, path, domain)
    except DescriptorError:
        raise
    except Exception as exc:  # noqa: BLE001 - a reader bug must not take the mesh down
        raise DescriptorError(path, f"cannot be read: {type(exc).__name__}: {exc}") from exc


@dataclass
class DomainLoad:
    """What loading one domain found: datasets, errors, warnings."""

    datasets: list[Dataset] = field(default_factory=list)
    errors: list[DescriptorError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    answered: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    # contract path -> its document, for a file already read (a mesh of one)
    parsed: dict = field(default_factory=dict)


def load_domain(manifest: MeshManifest, domain: str, folder: str, into: DomainLoad) -> DomainLoad:
    """Load the contracts of one domain into ``into``; errors are collected, not raised."""
    try:
        _load_domain(manifest, domain, folder, into)
    finally:
        into.answered.set()
        into.done.set()
    return into


def _load_domain(manifest: MeshManifest, domain: str, folder: str, into: DomainLoad) -> None:
    try:
        if is_contract_file(folder) or folder in into.parsed:
            into.answered.set()
            files = [folder]
        else:
            files = find_contracts(folder, manifest.storage, manifest.limits, into.answered)
    except MeshLoadError as exc:
        into.errors.append(DescriptorError(manifest.path, str(exc), f"domains.{domain}"))
        files = []
    for path in files:
        try:
            found = load_contract_file(path, domain, manifest.storage, manifest.limits, into.parsed)
        except DescriptorError as exc:
            into.errors.append(exc)
            continue
        except MeshLoadError as exc:
            into.errors.append(DescriptorError(path, str(exc)))
            continue
        except NotAContract:
            into.warnings.append(f"{path}: not an ODCS contract (no 'kind: DataContract'): skipped")
            continue
        if not found:
            into.warnings.append(f"{path}: lists no schema objects: nothing to catalogue")
            continue
        declared = found[0].descriptor.get("domain")
        if declared and str(declared) != domain:
            into.warnings.append(f"{path}: domain '{declared}' differs from the manifest's key '{domain}'")
        into.datasets.extend(found)


def server_of(manifest: MeshManifest, folder: str) -> str:
    """The server a domain folder lives on, for messages: host and port, or the store's endpoint."""
    if "://" not in folder:
        return "local disk"
    endpoint = manifest.storage.options_for(folder).get("endpoint_url")
    host = folder.split("://", 1)[1].split("/", 1)[0]
    return f"{endpoint} (bucket {host})" if endpoint else f"{protocol_of(folder)}://{host}"


def load_datasets(
    manifest: MeshManifest, parsed: dict | None = None
) -> tuple[list[Dataset], list[DescriptorError], list[str]]:
    """Load every domain of ``manifest``; collect errors and warnings instead of failing.

    Remote domains load in threads, side by side; each is waited for at most the
    connect limit until its server first answers. ``parsed``: contract path ->
    its document, for files already read.
    """
    started = time.monotonic()
    loads: list[DomainLoad] = []
    for domain, folder in manifest.domains:
        load = DomainLoad(parsed=dict(parsed or {}))
        if "://" in folder:
            worker = threading.Thread(target=load_domain, args=(manifest, domain, folder, load), daemon=True)
            worker.start()
        loads.append(load)
    for (domain, folder), load in zip(manifest.domains, loads):
        if "://" not in folder:
            load_domain(manifest, domain, folder, load)
    datasets: list[Dataset] = []
    errors: list[DescriptorError] = []
    warnings: list[str] = []
    for (domain, folder), load in zip(manifest.domains, loads):
        if not load.answered.wait(max(started + manifest.limits.connect - time.monotonic(), 0)):
            message = (
                f"domain folder {folder}: server {server_of(manifest, folder)} did not answer within "
                f"{seconds_text(manifest.limits.connect)} (timeouts.connect); the domain's datasets are not loaded"
            )
            errors.append(DescriptorError(manifest.path, message, f"domains.{domain}"))
            continue
        load.done.wait()
        datasets.extend(load.datasets)
        errors.extend(load.errors)
        warnings.extend(load.warnings)
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
    path: str, storage: StorageSettings = NO_STORAGE, limits: TimeLimits | None = None, contract: bool = False
) -> tuple[MeshManifest, list[Dataset], list[DescriptorError], list[str]]:
    """A mesh of one: ``path`` is a domain folder or one contract file (``contract``: whatever its name)."""
    path = _absolute(str(path))
    name = posixpath.basename(path.rstrip("/")).split(".")[0]
    parsed = {}
    if contract or is_contract_file(path):
        try:  # read once: the domain is the contract's own
            parsed[path] = _parse_yaml(_open_text(path, storage, limits), path)
            name = str((parsed[path].get("domain") if isinstance(parsed[path], dict) else None) or name)
        except MeshError:
            pass  # reported by load_datasets below, which reads the file again
    manifest = MeshManifest(
        name=name, path=path, domains=((name, path),), settings={}, storage=storage, limits=limits or TimeLimits()
    )
    datasets, errors, warnings = load_datasets(manifest, parsed)
    return manifest, datasets, errors, warnings
