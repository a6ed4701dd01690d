"""A scoring run's working files in shared storage, under runs/<run id>/attempt-<n>/ (n: the plan's attempt).

The plan writes ``common.npz`` (what every step shares), ``accounts.npz`` (the sample's accounts in code order, for
the reduce) and ``account-pk.npz`` (their database keys, for the parts); each prepare part m writes its summary
``part-MMMM-a<attempt>.npz`` (its posts' keys, accounts and times, and per account its activity),
``part-MMMM-a<attempt>-counts.npz`` (its posts per account) and one fragment per shard,
``shard-NNNN/part-MMMM-a<attempt>.npz`` (its actions on that shard's objects); each shard assembles its fragments
into ``shard-NNNN-a<attempt>.npz``, which its sweep and its evidence pass read, and its sweep writes its partial
edges ``shard-NNNN-a<attempt>-edges.npz``; the reduce's select writes the kept edges ``kept-a<attempt>.npz``, and
each shard's evidence pass the pairs of posts that make them on its objects, ``shard-NNNN-a<attempt>-pairs.npz``,
for the reduce's final step. Each is a plain .npz, and its SHA-256 and size go into the ledger
(``ScoringRun.files``, ``RunPart.files``, ``RunShard.partition``, ``RunShard.edges`` and ``RunShard.evidence``).

A file is written once: ``save_npz`` (every array's data 64-byte aligned) writes it through a hash, never seeking
back, to a temporary file, ``.<name>.<random>.writing`` in the folder it goes to, which FileSystemStorage then moves
into place by a rename, as it does an upload (one a killed worker leaves goes with the run's other files); a storage
without local paths (an S3 bucket) uploads it from FILE_UPLOAD_TEMP_DIR or the system's temporary directory. A step
reads the file it needs out of storage into one buffer, hashing it as it comes, checks the hash against the ledger
and takes the arrays as views of that buffer (``load_npz_buffer``: nothing copied, nothing unpickled), so a worker
holds its shard once, and whoever can write to the storage can change numbers but never run code. The fragments and
counts go once every shard has assembled its partition, the partial edges once the select has kept its edges, the
rest when the run ends.

The storage is the one named by ``SCORING_RUN_STORAGE`` in ``STORAGES``: a directory every worker shares, or an
S3-compatible bucket through django-storages, for workers on many machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils._os import safe_makedirs

from detection.engine.partition import (
    NpzArrays,
    load_npz_buffer,
    save_npz,
)

CHUNK = 8 * 1024 * 1024


class RunFileError(Exception):
    """A run's file is missing from storage, or is not what the prepare step wrote."""


def run_storage() -> Storage:
    """The storage that holds the scoring runs' working files."""
    return storages[settings.SCORING_RUN_STORAGE]


def _folder(run_id: int) -> str:
    return f"runs/{run_id}"


def _write(folder: str, name: str, data: NpzArrays) -> dict:
    storage = run_storage()
    path = f"{folder}/{name}"
    writing_dir = _writing_dir(storage, folder)
    with tempfile.NamedTemporaryFile(prefix=f".{name}.", suffix=".writing", dir=writing_dir, delete=False) as local:
        try:
            written = _HashingWriter(local)
            save_npz(written, data)
            local.seek(0)
            storage.delete(path)  # a file this attempt left before is replaced, not kept beside a renamed copy
            stored = storage.save(path, _WrittenFile(local))
        finally:
            with contextlib.suppress(FileNotFoundError):  # moved into place, unless the save failed
                os.remove(local.name)
    return {"name": stored, "sha256": written.sha256.hexdigest(), "bytes": written.size}


def _writing_dir(storage: Storage, folder: str) -> str | None:
    """Where a file is written before the storage takes it: the folder it goes to when the storage has local paths
    (FileSystemStorage then takes it by a rename, and what a killed worker leaves there goes with the run's other
    files), else FILE_UPLOAD_TEMP_DIR or the system's temporary directory (an S3 storage uploads it from there)."""
    try:
        directory = storage.path(folder)
    except NotImplementedError:
        return settings.FILE_UPLOAD_TEMP_DIR
    mode = getattr(storage, "directory_permissions_mode", None)  # FILE_UPLOAD_DIRECTORY_PERMISSIONS, as Django's
    if mode is None:
        os.makedirs(directory, exist_ok=True)
    else:
        safe_makedirs(directory, mode, exist_ok=True)
    return directory


class _HashingWriter:
    """Writes to a file, hashing every byte on its way. It cannot seek, so that zipfile streams (it writes each
    member's sizes after its data rather than going back to its header): the hash is then the file's."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self._file.write(data)
        written = memoryview(data).nbytes
        self.size += written
        return written

    def tell(self) -> int:
        return self.size

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("a hashed file is written straight through")

    def flush(self) -> None:
        self._file.flush()


class _WrittenFile(File):
    """A file written at a local path, which FileSystemStorage moves into place (as it does an upload's
    temporary file) instead of copying it; other storages read it."""

    def temporary_file_path(self) -> str:
        return self.file.name


def run_folder(run_id: int, attempt: int) -> str:
    """The folder of a run's files written under its plan's attempt."""
    return f"{_folder(run_id)}/attempt-{attempt}"


def run_file_write(folder: str, name: str, data: NpzArrays) -> dict:
    """Write one file of a run and return its ledger entry (name, SHA-256 and size)."""
    return _write(folder, name, data)


def run_file_read(entry: dict) -> NpzArrays:
    """One file of a run, checked against its ledger entry; RunFileError names it when missing or changed.

    Its arrays are writable views of one buffer of the file's bytes, which lives while any of them does: a caller
    that keeps one array of a large file beyond the rest copies it."""
    if not entry:
        raise RunFileError("A file of the run is not recorded in its ledger: the step that writes it has not finished.")
    return _read(entry)


def run_file_delete(entry: dict | None) -> None:
    """Delete one file of a run that no later step reads (nothing when it is not recorded)."""
    if entry:
        run_storage().delete(entry["name"])


def _read(entry: dict) -> NpzArrays:
    name = entry["name"]
    buffer, sha256 = _read_stored(name, entry["bytes"])
    if sha256 != entry["sha256"]:
        raise RunFileError(
            f"The run's file {name} is not the one the prepare step wrote (SHA-256 {sha256}, "
            f"recorded {entry['sha256']}): it was changed or damaged in storage; score the sample again."
        )
    try:
        return load_npz_buffer(buffer)
    except ValueError as exc:
        raise RunFileError(f"The run's file {name} cannot be read as plain arrays: {exc}") from None


def _read_stored(name: str, size: int) -> tuple[bytearray, str]:
    """A stored file's bytes and SHA-256, read and hashed chunk by chunk in one pass into one buffer, allocated
    at the size the ledger records (and cut or grown if the file is not that size)."""
    buffer = bytearray(size)
    sha256 = hashlib.sha256()
    filled = 0
    try:
        with run_storage().open(name, "rb") as stored:
            with memoryview(buffer) as view:
                while filled < size and (count := stored.readinto(view[filled : filled + CHUNK])):
                    sha256.update(view[filled : filled + count])
                    filled += count
            del buffer[filled:]
            while block := stored.read(CHUNK):
                sha256.update(block)
                buffer += block
    except FileNotFoundError:
        raise RunFileError(
            f"The run's file {name} is missing from storage (deleted, or the storage "
            f"{settings.SCORING_RUN_STORAGE!r} is not shared with this worker): score the sample again."
        ) from None
    return buffer, sha256.hexdigest()


def _tree(folder: str) -> tuple[list[str], list[str]]:
    """The files under a folder of the storage, and its folders, deepest first."""
    try:
        folders, names = run_storage().listdir(folder)
    except FileNotFoundError:
        return [], []
    files = [f"{folder}/{name}" for name in names]
    below = []
    for sub in folders:
        sub_files, sub_folders = _tree(f"{folder}/{sub}")
        files += sub_files
        below += sub_folders
    return sorted(files), [*below, folder]


def run_files_list(*, run_id: int) -> list[str]:
    """The names of the files a run has in storage now."""
    return _tree(_folder(run_id))[0]


def run_files_delete(*, run_id: int) -> None:
    """Delete every file a run has in storage (those the ledger lists and any a lost or crashed prepare left)."""
    storage = run_storage()
    files, folders = _tree(_folder(run_id))
    for name in files:
        storage.delete(name)
    for folder in folders:  # the emptied folders, where the storage has folders
        with contextlib.suppress(OSError):
            storage.delete(folder)
