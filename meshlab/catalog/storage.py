"""Object-store options: mesh.yaml's ``storage:`` section, per protocol or per URL prefix.

.. code-block:: yaml

    storage:
      s3:                              # every s3:// URL of the mesh
        endpoint_url: http://127.0.0.1:9000
        region: eu-central-1
      "s3://podcasts-team":            # one bucket (or folder): merged over the protocol's options
        endpoint_url: https://minio.podcasts.example

Options are written once, with s3fs's names, and translated for each reader:
fsspec (catalog loading, listings, metadata) takes them as they are, Polars'
native readers (``object_store``) get their own keys (``aws_endpoint_url``...).

Credentials never go here, nor in contracts: a key that looks like one is an
error naming the field. s3fs and Polars both read ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` and
``AWS_ENDPOINT_URL`` from the environment themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshlab.errors import DescriptorError
from meshlab.limits import TimeLimits

#: option names that would put a secret in a file
SECRET_WORDS = ("key", "secret", "token", "password", "credential", "authorization", "signature")
#: options meshlab understands for S3 (the rest go to fsspec unchanged)
S3_PROTOCOLS = ("s3", "s3a")


def protocol_of(url: str) -> str:
    """``s3`` for ``s3://b/k``, ``file`` for a plain path."""
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    # region_name, endpoint_url and anon are fine; key, aws_secret_access_key... are not.
    return any(word in lowered.replace("_", " ").split() or lowered.endswith(word) for word in SECRET_WORDS)


def _check_no_secrets(options: Mapping, source: str, where: str) -> None:
    for name, value in options.items():
        if _looks_secret(str(name)):
            raise DescriptorError(
                source,
                "credentials never go in mesh.yaml: set them in the environment "
                "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)",
                f"{where}.{name}",
            )
        if isinstance(value, Mapping):
            _check_no_secrets(value, source, f"{where}.{name}")


@dataclass(frozen=True)
class StorageSettings:
    """Options per protocol (``s3``) or URL prefix (``s3://bucket/folder``)."""

    entries: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    @classmethod
    def parse(cls, raw: Any, source: str = "storage options") -> StorageSettings:
        """Read a ``storage:`` mapping; ``source`` names the file for errors."""
        if raw in (None, {}):
            return cls()
        if not isinstance(raw, Mapping):
            raise DescriptorError(source, "storage must map a protocol or URL prefix to its options", "storage")
        entries = []
        for key, options in raw.items():
            if not isinstance(options, Mapping):
                raise DescriptorError(source, "options must be a mapping", f"storage.{key}")
            _check_no_secrets(options, source, f"storage.{key}")
            entries.append((str(key).rstrip("/"), tuple(options.items())))
        return cls(tuple(entries))

    def merged(self, other: StorageSettings) -> StorageSettings:
        """These settings with ``other``'s entries taking precedence."""
        return StorageSettings(self.entries + other.entries)

    def options_for(self, url: str) -> dict[str, Any]:
        """The options for ``url``: its protocol's, then every matching prefix, longest last."""
        protocol = protocol_of(url)
        aliases = S3_PROTOCOLS if protocol in S3_PROTOCOLS else (protocol,)
        found: dict[str, Any] = {}
        for key, options in self.entries:
            if "://" not in key and key.lower() in aliases:
                found.update(options)
        prefixed = [(k, o) for k, o in self.entries if "://" in k and _under(url, k)]
        for _, options in sorted(prefixed, key=lambda entry: len(entry[0])):
            found.update(options)
        return found

    def __bool__(self) -> bool:
        return bool(self.entries)


def _under(url: str, prefix: str) -> bool:
    def canonical(text: str) -> str:
        return text.replace("s3a://", "s3://", 1)

    url, prefix = canonical(url), canonical(prefix)
    return url == prefix or url.startswith(prefix + "/")


def fsspec_options(url: str, options: Mapping[str, Any], limits: TimeLimits | None = None) -> dict[str, Any]:
    """``options`` as fsspec's filesystem for ``url`` takes them, with ``limits``' timeouts.

    fsspec's HTTP and S3 filesystems have no read timeout of their own (a server that
    accepts and never answers hung a listing for over 15 minutes): HTTP gets aiohttp's
    ``ClientTimeout`` (connect, then ``metadata`` seconds without a byte), S3 botocore's
    ``connect_timeout`` / ``read_timeout`` and one attempt per call (meshlab's
    ``retries`` are s3fs's attempts, see :func:`filesystem`).
    """
    found = dict(options)
    protocol = protocol_of(url)
    if protocol in S3_PROTOCOLS and "region" in found:
        client = dict(found.pop("client_kwargs", None) or {})
        client.setdefault("region_name", found.pop("region"))
        found["client_kwargs"] = client
    limits = limits or TimeLimits()
    if protocol in ("http", "https"):
        import aiohttp

        client = dict(found.pop("client_kwargs", None) or {})
        client.setdefault(
            "timeout", aiohttp.ClientTimeout(total=None, sock_connect=limits.connect, sock_read=limits.metadata)
        )
        found["client_kwargs"] = client
    elif protocol in S3_PROTOCOLS:
        config = dict(found.pop("config_kwargs", None) or {})
        config.setdefault("connect_timeout", limits.connect)
        config.setdefault("read_timeout", limits.metadata)
        config.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
        found["config_kwargs"] = config
    return found


def filesystem(url: str, options: Mapping[str, Any], limits: TimeLimits | None = None):
    """fsspec's filesystem and path for ``url``, its calls bounded by ``limits``."""
    import fsspec

    limits = limits or TimeLimits()
    fs, path = fsspec.core.url_to_fs(url, **fsspec_options(url, options, limits))
    if protocol_of(url) in S3_PROTOCOLS:
        fs.retries = limits.retries + 1  # s3fs retries a timeout 5 times by default: 5 waits
    return fs, path


def polars_options(url: str, options: Mapping[str, Any], limits: TimeLimits | None = None) -> dict[str, Any] | None:
    """``options`` as Polars' native readers take them (object_store keys), or None.

    With ``limits``: object_store's ``connect_timeout``, ``timeout`` (the read limit,
    per request) and ``max_retries``.
    """
    if protocol_of(url) not in S3_PROTOCOLS:
        return None
    found: dict[str, Any] = {}
    if limits is not None:
        found.update(connect_timeout=f"{limits.connect:g}s", timeout=f"{limits.read:g}s", max_retries=limits.retries)
    endpoint = options.get("endpoint_url")
    if endpoint:
        found["aws_endpoint_url"] = str(endpoint)
        if str(endpoint).startswith("http://"):
            found["aws_allow_http"] = "true"
    region = options.get("region") or (options.get("client_kwargs") or {}).get("region_name")
    if region:
        found["aws_region"] = str(region)
    if options.get("anon"):
        found["aws_skip_signature"] = "true"
    return found or None
