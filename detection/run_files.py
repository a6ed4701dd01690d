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
(``ScoringRun.files``, ``RunPart.files``, ``RunShard.partition``, ``RunShard.edges`` and ``RunShard.evidence``). A
step copies the file it needs out of storage, checks it against the ledger and reads it with pickling refused, so a
worker holds its shard, and whoever can write to the storage can change numbers but never run code. The fragments
and counts go once every shard has assembled its partition, the partial edges once the select has kept its edges,
the rest when the run ends.

The storage is the one named by ``SCORING_RUN_STORAGE`` in ``STORAGES``: a directory every worker shares, or an
S3-compatible bucket through django-storages, for workers on many machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import zipfile

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from detection.engine.partition import (
    NpzArrays,
    load_npz,
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
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as local:
        save_npz(local, data)
        size = local.tell()
        local.seek(0)
        while block := local.read(CHUNK):
            digest.update(block)
        local.seek(0)
        storage.delete(path)  # a file this attempt left before is replaced, not kept beside a renamed copy
        stored = storage.save(path, File(local, name=name))
    return {"name": stored, "sha256": digest.hexdigest(), "bytes": size}


def run_folder(run_id: int, attempt: int) -> str:
    """The folder of a run's files written under its plan's attempt."""
    return f"{_folder(run_id)}/attempt-{attempt}"


def run_file_write(folder: str, name: str, data: NpzArrays) -> dict:
    """Write one file of a run and return its ledger entry (name, SHA-256 and size)."""
    return _write(folder, name, data)


def run_file_read(entry: dict) -> NpzArrays:
    """One file of a run, checked against its ledger entry; RunFileError names it when missing or changed."""
    if not entry:
        raise RunFileError("A file of the run is not recorded in its ledger: the step that writes it has not finished.")
    return _read(entry)


def run_file_delete(entry: dict | None) -> None:
    """Delete one file of a run that no later step reads (nothing when it is not recorded)."""
    if entry:
        run_storage().delete(entry["name"])


def _read(entry: dict) -> NpzArrays:
    name = entry["name"]
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as local:
        try:
            with run_storage().open(name, "rb") as stored:
                for block in iter(lambda: stored.read(CHUNK), b""):
                    digest.update(block)
                    local.write(block)
        except FileNotFoundError:
            raise RunFileError(
                f"The run's file {name} is missing from storage (deleted, or the storage "
                f"{settings.SCORING_RUN_STORAGE!r} is not shared with this worker): score the sample again."
            ) from None
        if digest.hexdigest() != entry["sha256"]:
            raise RunFileError(
                f"The run's file {name} is not the one the prepare step wrote (SHA-256 {digest.hexdigest()}, "
                f"recorded {entry['sha256']}): it was changed or damaged in storage; score the sample again."
            )
        local.seek(0)
        try:
            return load_npz(local)
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise RunFileError(f"The run's file {name} cannot be read as plain arrays: {exc}") from None


def run_partition_read(*, files: dict, shard: int) -> tuple[NpzArrays, NpzArrays]:
    """The common file and one shard's partition, each checked against the ledger."""
    if not files:
        raise RunFileError("The run has no files recorded: its prepare step has not finished.")
    return _read(files["common"]), _read(files["shards"][shard])


def run_finalise_read(*, files: dict) -> tuple[NpzArrays, NpzArrays]:
    """The common file and the reduce's file, each checked against the ledger."""
    if not files:
        raise RunFileError("The run has no files recorded: its prepare step has not finished.")
    return _read(files["common"]), _read(files["finalise"])


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
