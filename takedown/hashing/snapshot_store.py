"""Where snapshots live: a private local directory, or S3-compatible object storage for many machines.

One small interface (:class:`SnapshotStore`) with two implementations:

* :class:`LocalSnapshotStore` (the default, one machine): a directory of its own, mode 0700, on an
  encrypted volume (or a tmpfs). The build task writes into it; ``publish`` renames the file to
  its final name and points ``<signal>.latest.json`` at it; workers open the latest file from it.
* :class:`S3SnapshotStore` (several machines): the builder publishes to a bucket; every machine
  downloads the latest snapshot once into its own private local directory and its workers map
  that copy. The object is encrypted with AES-256-GCM in 4 MiB segments (each segment's nonce
  carries its number and a last-segment flag, so segments cannot be reordered, dropped or the
  object truncated without the decryption failing), because the bucket is not on the encrypted
  volume. The download is verified against the snapshot's own digest before it is put in place.

The S3 client is passed in (``boto3.client("s3", endpoint_url=...)``), so this module does not
import boto3, and any S3-compatible server (MinIO, Ceph, a cloud's object storage) works.

Files are immutable and named by signal, checkpoint and digest; replacing "latest" never touches a
file a worker has mapped, and pruning an old one is safe while it is mapped (POSIX keeps an
unlinked file's pages until the last mapping goes).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import struct
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from takedown.hashing.snapshot import (
    SUFFIX,
    SnapshotError,
    SnapshotHeader,
    SnapshotIndex,
    open_snapshot,
    read_header,
    verify_snapshot,
)

#: Encrypted object format: magic, segment size, 7-byte random nonce prefix; then the segments.
ENC_MAGIC: Final = b"TDSNAPE1"
_ENC_HEADER: Final = struct.Struct("<8sI7s")
SEGMENT: Final = 4 << 20
_TAG: Final = 16


@dataclass(frozen=True)
class SnapshotRef:
    """A published snapshot: what ``latest`` points at (no hash values: safe to log)."""

    signal: str
    name: str
    checkpoint: int
    body_sha256: str
    size: int
    created_at: float

    @classmethod
    def of(cls, header: SnapshotHeader) -> SnapshotRef:
        name = f"{header.signal}-{header.checkpoint:020d}-{header.body_sha256[:16]}{SUFFIX}"
        return cls(header.signal, name, header.checkpoint, header.body_sha256, header.size, header.created_at)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> SnapshotRef:
        try:
            doc = json.loads(data)
            return cls(
                str(doc["signal"]),
                str(doc["name"]),
                int(doc["checkpoint"]),
                str(doc["body_sha256"]),
                int(doc["size"]),
                float(doc["created_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"the snapshot manifest is corrupt ({type(exc).__name__})") from None


def ensure_private_dir(directory: Path) -> Path:
    """Create ``directory`` with mode 0700, or refuse one that other users can read or enter."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise SnapshotError(
            f"{directory} is open to other users (mode {mode:o}): snapshots hold hashes in the clear; "
            "use a directory of their own with mode 700"
        )
    return directory


def _write_private(path: Path, data: bytes) -> None:
    """Write a small file atomically with mode 0600."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class SnapshotStore(ABC):
    """Publish snapshots, find the latest of a signal, and make it available as a local file."""

    @abstractmethod
    def staging_path(self, signal: str) -> Path:
        """A private local path to build a snapshot into before ``publish``."""

    @abstractmethod
    def publish(self, path: Path) -> SnapshotRef:
        """Make a finished snapshot file the latest of its signal (the file is moved)."""

    @abstractmethod
    def latest(self, signal: str) -> SnapshotRef | None:
        """The latest published snapshot of ``signal``, or None before the first build."""

    @abstractmethod
    def fetch(self, ref: SnapshotRef) -> Path:
        """A checked local copy of ``ref`` (downloaded and verified if needed)."""

    @abstractmethod
    def prune(self, signal: str, keep: int = 2) -> list[str]:
        """Delete all but the ``keep`` newest snapshots of ``signal`` (never the latest)."""

    def open_latest(self, signal: str, *, verify: bool = False) -> SnapshotIndex | None:
        """Open the latest snapshot of ``signal`` (None if there is none yet)."""
        ref = self.latest(signal)
        return None if ref is None else open_snapshot(self.fetch(ref), verify=verify)


class LocalSnapshotStore(SnapshotStore):
    """Snapshots in one private directory on this machine."""

    def __init__(self, directory: Path) -> None:
        self.directory = ensure_private_dir(directory)

    def staging_path(self, signal: str) -> Path:
        return self.directory / f".{signal}-build-{uuid.uuid4().hex}{SUFFIX}"

    def _manifest(self, signal: str) -> Path:
        return self.directory / f"{signal}.latest.json"

    def install(self, path: Path, header: SnapshotHeader) -> SnapshotRef:
        """Rename a checked file to its final name in the directory (same file system)."""
        ref = SnapshotRef.of(header)
        final = self.directory / ref.name
        if Path(path).resolve() != final.resolve():
            os.replace(path, final)
        os.chmod(final, 0o600)
        return ref

    def point_latest(self, ref: SnapshotRef) -> None:
        _write_private(self._manifest(ref.signal), ref.to_json())

    def publish(self, path: Path) -> SnapshotRef:
        ref = self.install(path, read_header(path))
        self.point_latest(ref)
        return ref

    def latest(self, signal: str) -> SnapshotRef | None:
        try:
            return SnapshotRef.from_json(self._manifest(signal).read_bytes())
        except FileNotFoundError:
            return None

    def fetch(self, ref: SnapshotRef) -> Path:
        path = self.directory / ref.name
        if not path.exists():
            raise SnapshotError(f"{path} is named as the latest snapshot but is missing")
        return path

    def has(self, ref: SnapshotRef) -> bool:
        path = self.directory / ref.name
        if not path.exists():
            return False
        try:
            header = read_header(path)
        except SnapshotError:
            return False
        return header.body_sha256 == ref.body_sha256

    def prune(self, signal: str, keep: int = 2) -> list[str]:
        latest = self.latest(signal)
        names = sorted(p.name for p in self.directory.glob(f"{signal}-*{SUFFIX}"))  # checkpoint order
        doomed = [n for n in names[: max(0, len(names) - keep)] if latest is None or n != latest.name]
        for name in doomed:
            (self.directory / name).unlink(missing_ok=True)
        return doomed


# ---- encrypted objects -------------------------------------------------------------------------


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def encrypt_stream(source: Readable, target: IO[bytes], key: bytes, *, segment: int = SEGMENT) -> None:
    """Encrypt ``source`` to ``target`` in AES-256-GCM segments (see the module docstring)."""
    aead = AESGCM(key)
    header = _ENC_HEADER.pack(ENC_MAGIC, segment, secrets.token_bytes(7))
    prefix = header[-7:]
    target.write(header)
    number = 0
    current = source.read(segment)
    while True:
        following = source.read(segment) if len(current) == segment else b""
        last = not following
        target.write(aead.encrypt(_nonce(prefix, number, last), current, header))
        if last:
            return
        current, number = following, number + 1


def decrypt_stream(source: Readable, target: IO[bytes], key: bytes) -> None:
    """Decrypt what :func:`encrypt_stream` wrote; any change, reordering or truncation fails."""
    header = source.read(_ENC_HEADER.size)
    if len(header) != _ENC_HEADER.size:
        raise SnapshotError("the encrypted snapshot is truncated")
    magic, segment, prefix = _ENC_HEADER.unpack(header)
    if magic != ENC_MAGIC or not 0 < segment <= 1 << 30:
        raise SnapshotError("not an encrypted takedown snapshot")
    aead = AESGCM(key)
    number = 0
    current = source.read(segment + _TAG)
    while True:
        following = source.read(segment + _TAG) if len(current) == segment + _TAG else b""
        last = not following
        try:
            target.write(aead.decrypt(_nonce(prefix, number, last), current, header))
        except InvalidTag:
            raise SnapshotError(
                "the encrypted snapshot is corrupt, truncated or was encrypted with another key"
            ) from None
        if last:
            return
        current, number = following, number + 1


class ObjectClient(Protocol):
    """The part of a boto3 S3 client the store uses (boto3 spells its arguments in CamelCase)."""

    exceptions: Any

    def upload_file(self, Filename: str, Bucket: str, Key: str) -> None: ...

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]: ...

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> Any: ...

    def delete_object(self, *, Bucket: str, Key: str) -> Any: ...

    def list_objects_v2(self, *, Bucket: str, Prefix: str) -> Mapping[str, Any]: ...


class _Reader:
    """A file-like ``read(n)`` over a boto3 streaming body (which may return short reads)."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def read(self, size: int = -1, /) -> bytes:
        chunks: list[bytes] = []
        wanted = size
        while wanted != 0:
            chunk = self.body.read(wanted if wanted > 0 else None)
            if not chunk:
                break
            chunks.append(chunk)
            if wanted > 0:
                wanted -= len(chunk)
        return b"".join(chunks)


class S3SnapshotStore(SnapshotStore):
    """Snapshots in an S3-compatible bucket, encrypted; each machine keeps a local private copy.

    ``key`` is 32 bytes kept by the service (never in the bucket); ``cache_dir`` is this
    machine's private snapshot directory (on an encrypted volume or a tmpfs).
    """

    def __init__(self, client: ObjectClient, bucket: str, *, key: bytes, cache_dir: Path, prefix: str = "") -> None:
        if len(key) != 32:
            raise ValueError("the snapshot encryption key must be 32 bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.key = key
        self.local = LocalSnapshotStore(cache_dir)

    def _object(self, name: str) -> str:
        return f"{self.prefix}{name}.enc"

    def _manifest(self, signal: str) -> str:
        return f"{self.prefix}{signal}.latest.json"

    def staging_path(self, signal: str) -> Path:
        return self.local.staging_path(signal)

    def publish(self, path: Path) -> SnapshotRef:
        header = verify_snapshot(path)
        ref = self.local.install(path, header)
        encrypted = self.local.directory / f".{ref.name}.{uuid.uuid4().hex}.enc"
        try:
            fd = os.open(encrypted, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as target, (self.local.directory / ref.name).open("rb") as source:
                encrypt_stream(source, target, self.key)
            self.client.upload_file(str(encrypted), self.bucket, self._object(ref.name))
        finally:
            encrypted.unlink(missing_ok=True)
        # The pointer moves only after the object is complete: readers never see a partial upload.
        self.client.put_object(Bucket=self.bucket, Key=self._manifest(ref.signal), Body=ref.to_json())
        self.local.point_latest(ref)
        return ref

    def latest(self, signal: str) -> SnapshotRef | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._manifest(signal))
        except self.client.exceptions.NoSuchKey:
            return None
        return SnapshotRef.from_json(response["Body"].read())

    def fetch(self, ref: SnapshotRef) -> Path:
        if self.local.has(ref):
            return self.local.directory / ref.name
        tmp = self.local.staging_path(ref.signal)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._object(ref.name))["Body"]
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as target:
                decrypt_stream(_Reader(body), target, self.key)
                target.flush()
                os.fsync(target.fileno())
            header = verify_snapshot(tmp)
            if header.body_sha256 != ref.body_sha256 or header.checkpoint != ref.checkpoint:
                raise SnapshotError(f"the object {ref.name} is not the snapshot the manifest names")
            self.local.install(tmp, header)
        finally:
            tmp.unlink(missing_ok=True)
        self.local.point_latest(ref)
        return self.local.directory / ref.name

    def _objects(self, signal: str) -> Iterator[str]:
        response = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{signal}-")
        for item in response.get("Contents", []):
            yield str(item["Key"])

    def prune(self, signal: str, keep: int = 2) -> list[str]:
        latest = self.latest(signal)
        keys = sorted(k for k in self._objects(signal) if k.endswith(f"{SUFFIX}.enc"))
        doomed = [k for k in keys[: max(0, len(keys) - keep)] if latest is None or k != self._object(latest.name)]
        for key in doomed:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return doomed + self.local.prune(signal, keep)
