"""A run's working files: what is written is what the ledger records and np.load reads, and a file is read back
as views of one buffer, never unpickled, and refused (naming it) when missing, changed or not plain arrays."""

import hashlib
import io
import os
import pickle
import stat
import struct
import zipfile

import numpy as np
import pytest
from django.core.files.storage import filesystem

from detection import run_files
from detection.run_files import RunFileError

FOLDER = "runs/7/attempt-1"


def every_dtype() -> dict[str, np.ndarray]:
    """An array of every kind the engine writes."""
    return {
        "int64": np.array([0, -1, 2**62, -(2**63)], dtype=np.int64),
        "float64": np.array([1.5, np.nan, np.inf, -np.inf, -0.0]),
        "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "bool": np.array([True, False, True]),
        "uint8": np.arange(256, dtype=np.uint8),
        "str": np.array(["plain", "été", "🗳️ ballot"], dtype=np.str_),
        "str_scalar": np.array("engine 1.2"),
        "c_order": np.arange(12, dtype=np.int64).reshape(3, 4),
        "fortran_order": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        "empty": np.zeros(0, dtype=np.int64),
        "empty_2d": np.zeros((0, 3), dtype=np.float64),
        "empty_str": np.array([], dtype=np.str_),
        "zero_d": np.array(7, dtype=np.int64),
        "activity:similar-text": np.arange(5, dtype=np.int64),
    }


def assert_same_arrays(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape, name
        assert got[name].flags.f_contiguous == array.flags.f_contiguous, name
        np.testing.assert_array_equal(got[name], array, strict=True, err_msg=name)


def stored_bytes(entry: dict) -> bytes:
    with run_files.run_storage().open(entry["name"], "rb") as stored:
        return stored.read()


def record(name: str, content: bytes) -> dict:
    """Store bytes as a run's file and return the ledger entry that vouches for them."""
    storage = run_files.run_storage()
    storage.delete(name)
    storage.save(name, io.BytesIO(content))
    return {"name": name, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}


def buffer_of(array: np.ndarray) -> bytearray:
    while isinstance(array, np.ndarray):
        array = array.base
    return array.obj if isinstance(array, memoryview) else array


def test_every_dtype_comes_back_as_aligned_writable_views_of_one_buffer():
    data = every_dtype()
    loaded = run_files.run_file_read(run_files.run_file_write(FOLDER, "all.npz", data))
    assert_same_arrays(loaded, data)
    filled = [array for array in loaded.values() if array.size]
    buffer = buffer_of(filled[0])
    start = np.frombuffer(buffer, np.uint8).ctypes.data
    for array in filled:
        assert buffer_of(array) is buffer and not array.flags.owndata
        assert (array.ctypes.data - start) % 64 == 0 and array.flags.aligned and array.flags.writeable
    loaded["int64"] += 1  # the engine's in-place operations work on what it reads, without touching the rest
    np.testing.assert_array_equal(loaded["int64"], data["int64"] + 1)
    np.testing.assert_array_equal(loaded["uint64"], data["uint64"])


def test_the_ledger_records_the_stored_files_hash_and_size_and_np_load_reads_it():
    data = every_dtype()
    entry = run_files.run_file_write(FOLDER, "all.npz", data)
    content = stored_bytes(entry)
    assert entry == {"name": f"{FOLDER}/all.npz", "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    with np.load(run_files.run_storage().path(entry["name"]), allow_pickle=False) as loaded:
        assert_same_arrays({name: loaded[name] for name in loaded.files}, data)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None  # the CRC-32s zipfile wrote are right, though the reader skips them
        assert {member.compress_type for member in archive.infolist()} == {zipfile.ZIP_STORED}


def test_the_storage_moves_the_written_file_into_place_instead_of_copying_it(monkeypatch):
    moved = []
    move = filesystem.file_move_safe
    monkeypatch.setattr(
        filesystem, "file_move_safe", lambda old, new, **kwargs: moved.append(old) or move(old, new, **kwargs)
    )
    entry = run_files.run_file_write(FOLDER, "common.npz", {"meta": np.array([1, 2])})
    folder = run_files.run_storage().path(FOLDER)
    assert len(moved) == 1 and os.path.dirname(moved[0]) == folder  # on the storage's filesystem: a rename
    assert not os.path.exists(moved[0]) and os.path.exists(run_files.run_storage().path(entry["name"]))


def test_a_file_written_again_replaces_the_one_before():
    first = run_files.run_file_write(FOLDER, "common.npz", {"meta": np.array([1, 2])})
    second = run_files.run_file_write(FOLDER, "common.npz", {"meta": np.array([3, 4])})
    assert first["name"] == second["name"] and first["sha256"] != second["sha256"]
    assert run_files.run_files_list(run_id=7) == [second["name"]]
    np.testing.assert_array_equal(run_files.run_file_read(second)["meta"], [3, 4])


def test_a_file_written_by_np_savez_is_read_too_its_unaligned_arrays_copied():
    content = io.BytesIO()
    data = {"odd": np.arange(5, dtype=np.int64), "text": np.array(["a", "bc"]), "flag": np.array([True])}
    np.savez(content, **data)
    loaded = run_files.run_file_read(record(f"{FOLDER}/savez.npz", content.getvalue()))
    assert_same_arrays(loaded, data)
    assert all(array.flags.aligned and array.flags.writeable for array in loaded.values())


def test_a_changed_byte_a_truncated_file_and_a_missing_file_are_refused_naming_the_file():
    entry = run_files.run_file_write(FOLDER, "shard-0000-a1.npz", every_dtype())
    path = run_files.run_storage().path(entry["name"])
    with open(path, "r+b") as stored:
        stored.seek(entry["bytes"] // 2)
        stored.write(b"\x00\x01\x02")
    changed = f"The run's file {entry['name']} is not the one the prepare step wrote (SHA-256 "
    with pytest.raises(RunFileError) as refused:
        run_files.run_file_read(entry)
    assert str(refused.value).startswith(changed)
    with open(path, "r+b") as stored:
        stored.truncate(entry["bytes"] - 100)
    with pytest.raises(RunFileError) as refused:
        run_files.run_file_read(entry)
    assert str(refused.value).startswith(changed)
    with open(path, "ab") as stored:
        stored.write(bytes(200))
    with pytest.raises(RunFileError) as refused:
        run_files.run_file_read(entry)
    assert str(refused.value).startswith(changed)
    os.remove(path)
    with pytest.raises(RunFileError, match=f"^The run's file {entry['name']} is missing from storage"):
        run_files.run_file_read(entry)
    with pytest.raises(RunFileError, match="not recorded in its ledger"):
        run_files.run_file_read({})


def test_a_file_that_would_need_unpickling_is_refused_without_unpickling(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("a run's file was unpickled")

    monkeypatch.setattr(pickle, "load", refused)
    monkeypatch.setattr(pickle, "loads", refused)
    content = io.BytesIO()
    np.savez(content, meta=np.array([0, 2]), payload=np.array([{"a": 1}], dtype=object))  # pickled inside
    entry = record(f"{FOLDER}/pickled.npz", content.getvalue())  # whoever wrote it could edit the ledger too
    with pytest.raises(RunFileError, match=f"^The run's file {entry['name']} cannot be read as plain arrays: "):
        run_files.run_file_read(entry)


def test_an_object_array_is_refused_on_write_and_leaves_no_file():
    with pytest.raises(TypeError, match="object array"):
        run_files.run_file_write(FOLDER, "objects.npz", {"keys": np.array(["a", None], dtype=object)})
    assert run_files.run_files_list(run_id=7) == []


def malformed_files() -> dict[str, bytes]:
    content = io.BytesIO()
    np.savez(content, a=np.arange(4), b=np.array([1.5]))
    good = content.getvalue()
    compressed = io.BytesIO()
    np.savez_compressed(compressed, a=np.arange(4))
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        a = archive.getinfo("a.npy")
    data_start = a.header_offset + 30 + sum(struct.unpack_from("<HH", good, a.header_offset + 26))
    bad_header = bytearray(good)
    bad_header[data_start + 10 : data_start + 16] = b"[1, 2,"  # not a dictionary, nor Python
    bad_magic = bytearray(good)
    bad_magic[data_start : data_start + 6] = b"NOTNPY"
    not_npy = io.BytesIO()
    with zipfile.ZipFile(not_npy, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return {
        "empty": b"",
        "not a zip": b"plain text, not arrays" * 10,
        "truncated": good[: len(good) // 2],
        "compressed": compressed.getvalue(),
        "bad header": bytes(bad_header),
        "bad magic": bytes(bad_magic),
        "not npy": not_npy.getvalue(),
    }


@pytest.mark.parametrize("kind", list(malformed_files()))
def test_a_malformed_file_is_refused_naming_it(kind):
    entry = record(f"{FOLDER}/{kind.replace(' ', '-')}.npz", malformed_files()[kind])
    with pytest.raises(RunFileError, match=f"^The run's file {entry['name']} cannot be read as plain arrays: "):
        run_files.run_file_read(entry)


def test_no_temporary_file_is_left_after_a_write_or_a_failed_one(settings, tmp_path, monkeypatch):
    objects = {"first": np.arange(3), "keys": np.array(["a", None], dtype=object)}

    def disk_full(name, content):
        raise OSError(28, "No space left on device")

    def write_and_fail() -> dict:
        entry = run_files.run_file_write(FOLDER, "written.npz", every_dtype())
        with pytest.raises(TypeError, match="object array"):
            run_files.run_file_write(FOLDER, "objects.npz", objects)
        with monkeypatch.context() as patch:
            patch.setattr(run_files.run_storage(), "_save", disk_full)
            with pytest.raises(OSError, match="No space left"):
                run_files.run_file_write(FOLDER, "failed.npz", every_dtype())
        return entry

    entry = write_and_fail()
    assert os.listdir(run_files.run_storage().path(FOLDER)) == ["written.npz"]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    os.mkdir(settings.FILE_UPLOAD_TEMP_DIR)
    entry = write_and_fail()
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
    assert run_files.run_files_list(run_id=7) == [entry["name"]]
    assert_same_arrays(run_files.run_file_read(entry), every_dtype())


def test_what_a_killed_write_left_goes_with_the_runs_files():
    run_files.run_file_write(FOLDER, "common.npz", {"meta": np.array([1])})
    with open(run_files.run_storage().path(f"{FOLDER}/.shard-0001-a1.npz.x1y2.writing"), "wb") as left:
        left.write(b"PK\x03\x04 cut off")
    assert len(run_files.run_files_list(run_id=7)) == 2
    run_files.run_files_delete(run_id=7)
    assert run_files.run_files_list(run_id=7) == []


@pytest.mark.parametrize(("mode", "directory_mode"), [(0o644, None), (0o640, 0o750)])
def test_a_stored_file_and_its_folders_have_the_upload_permissions(settings, mode, directory_mode):
    settings.FILE_UPLOAD_PERMISSIONS = mode
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = directory_mode
    entry = run_files.run_file_write(FOLDER, "common.npz", {"meta": np.array([1])})
    storage = run_files.run_storage()
    assert stat.S_IMODE(os.stat(storage.path(entry["name"])).st_mode) == mode
    if directory_mode is not None:
        for folder in ("runs", "runs/7", FOLDER):
            assert stat.S_IMODE(os.stat(storage.path(folder)).st_mode) == directory_mode, folder


def test_a_storage_without_local_paths_is_written_and_read_through_the_system_temporary_directory(
    settings, tmp_path, monkeypatch
):
    """As an S3 bucket through django-storages: no ``path()``, so the file is written in the temp directory."""
    settings.STORAGES = {**settings.STORAGES, "runs": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    settings.SCORING_RUN_STORAGE = "runs"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    data = every_dtype()
    entry = run_files.run_file_write(FOLDER, "common.npz", data)
    assert entry["sha256"] == hashlib.sha256(stored_bytes(entry)).hexdigest()
    assert_same_arrays(run_files.run_file_read(entry), data)
    with pytest.raises(TypeError, match="object array"):
        run_files.run_file_write(FOLDER, "failed.npz", {"keys": np.array(["a", None], dtype=object)})
    assert list(temporary.iterdir()) == []
    assert run_files.run_files_list(run_id=7) == [entry["name"]]
    run_files.run_files_delete(run_id=7)
    assert run_files.run_files_list(run_id=7) == []
