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


def fsspec_options(url: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` as fsspec's filesystem for ``url`` takes them."""
    found = dict(options)
    if protocol_of(url) in S3_PROTOCOLS and "region" in found:
        client = dict(found.pop("client_kwargs", None) or {})
        client.setdefault("region_name", found.pop("region"))
        found["client_kwargs"] = client
    return found


def polars_options(url: str, options: Mapping[str, Any]) -> dict[str, str] | None:
    """``options`` as Polars' native readers take them (object_store keys), or None."""
    if protocol_of(url) not in S3_PROTOCOLS:
        return None
    found: dict[str, str] = {}
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
