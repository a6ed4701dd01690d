"""A run's actions split by shard into plain numpy arrays, so that a worker loads its shard and never the sample.

Three kinds of file, each a dict of arrays written with ``save_npz`` (a standard uncompressed .npz, each array's
data 64-byte aligned) and read with ``load_npz`` or ``load_npz_buffer`` (the arrays as views of the file's bytes):
nothing in them is ever unpickled, and strings are UTF-8 bytes plus offsets.

- ``partition_common(arrays, params, n_shards)``: the one small file every step reads (sizes, the match codec's
  width, each behaviour's per-account activity, the parameters' fingerprint, the engine version).
- ``partition_shards(arrays, params, n_shards)``: per shard, the actions of every behaviour on the objects of
  that shard, with object codes and text rows of its own; ``shard_edges_from_partition(common, partition,
  params)`` gives the same ``PartialEdges``, byte for byte, as ``shard_edges(arrays, params, shard, n_shards)``,
  and ``shard_pairs_from_partition(common, partition, params, selected)`` the kept edges' pairs of posts on that
  shard's objects, for ``api.finalise_from_pairs``.
- ``finalise_arrays(arrays)``: what ``finalise`` still reads of the whole sample (the reduce's file);
  ``arrays_from_finalise(common, data)`` turns it back into ``PostArrays``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import tokenize
import zipfile
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from detection.engine.arrays import SEP, ObjectTable, PostArrays
from detection.engine.coaction import Actions, actions_matched_keys, match_codec
from detection.engine.evidence import EdgeIndex
from detection.engine.params import ENGINE_VERSION, EngineParams
from detection.engine.records import AccountRecord
from detection.engine.shards import PartialEdges, object_shards
from detection.engine.significance import SelectedEdges

NpzArrays = dict[str, np.ndarray]

NPZ_ALIGN = 64  # where save_npz puts every array's data: a multiple of any dtype's alignment, and of a cache line
_PADDING_FIELD = 0xD935  # the extra field's id Android's zipalign pads with; zip readers skip unknown fields
_LOCAL_HEADER = b"PK\x03\x04"
_ENCRYPTED = 0x1
_NPY_HEADER_MAX = 12 + 10_000  # magic, version and length, then numpy's default limit on a header's size


def save_npz(file: IO[bytes] | str, data: NpzArrays) -> None:
    """Write arrays as an uncompressed .npz that ``np.load`` reads, each array's data 64-byte aligned in the file.

    Refuses object arrays, which only pickle could write. ``file`` may be unseekable: zipfile then streams,
    writing each member's sizes after its data instead of going back to its header, so that a writer can hash
    the bytes as they go. The alignment (padding in each member's extra field) lets ``load_npz_buffer`` give
    every array as a view of the file's bytes.
    """
    for name, value in data.items():
        if value.dtype.hasobject:
            raise TypeError(f"{name} is an object array: partitions hold plain arrays only")
    if isinstance(file, str):
        with open(file, "wb") as out:
            save_npz(out, data)
        return
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in data.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.extra = _padding(archive.fp.tell(), member.filename)
            with archive.open(member, "w", force_zip64=True) as out:
                npy_format.write_array(out, np.asanyarray(value), allow_pickle=False)


def _padding(offset: int, filename: str) -> bytes:
    """The extra field that puts a member's data, written at ``offset``, at a multiple of NPZ_ALIGN.

    The local header is 30 bytes, the name, this field (4 bytes and the padding) and the 20-byte zip64 field
    zipfile adds itself when writing with ``force_zip64``; the .npy header is a multiple of 64 bytes long.
    """
    padding = -(offset + 30 + len(filename.encode("utf-8")) + 4 + 20) % NPZ_ALIGN
    return struct.pack("<HH", _PADDING_FIELD, padding) + bytes(padding)


def load_npz(file: IO[bytes] | str) -> NpzArrays:
    """Read every array of an .npz without ever unpickling (see ``load_npz_buffer``)."""
    if isinstance(file, str):
        with open(file, "rb") as stored:
            return load_npz_buffer(bytearray(stored.read()))
    return load_npz_buffer(bytearray(file.read()))


def load_npz_buffer(buffer: bytearray) -> NpzArrays:
    """Every array of an .npz held in memory, as views of its bytes: nothing is copied, and nothing unpickled.

    The arrays share the buffer (so they are writable, and keep all of it alive), except one whose data is not
    aligned for its dtype (a file not written by ``save_npz``), which is copied. Raises ValueError for anything
    but uncompressed .npy members of plain dtypes lying whole within the buffer. No CRC-32 is checked: a run's
    files are checked against their SHA-256 before they are read.
    """
    try:
        with _BufferFile(buffer) as file, zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError) as exc:
        raise ValueError(f"not a zip file numpy writes: {exc}") from None
    arrays = {}
    for member in members:
        if not member.filename.endswith(".npy"):
            raise ValueError(f"{member.filename} is not a .npy array")
        arrays[member.filename.removesuffix(".npy")] = _member_array(buffer, member)
    return arrays


def _member_array(buffer: bytearray, member: zipfile.ZipInfo) -> np.ndarray:
    name = member.filename
    if member.compress_type != zipfile.ZIP_STORED or member.compress_size != member.file_size:
        raise ValueError(f"{name} is compressed")
    if member.flag_bits & _ENCRYPTED:
        raise ValueError(f"{name} is encrypted")
    start = member.header_offset
    if not 0 <= start <= len(buffer) - 30 or buffer[start : start + 4] != _LOCAL_HEADER:
        raise ValueError(f"{name} has no local header at offset {start}")
    name_length, extra_length = struct.unpack_from("<HH", buffer, start + 26)
    data_start = start + 30 + name_length + extra_length
    data_end = data_start + member.file_size
    if data_end > len(buffer):
        raise ValueError(f"{name} ends past the end of the file")
    header = io.BytesIO(buffer[data_start : min(data_end, data_start + _NPY_HEADER_MAX)])
    version = npy_format.read_magic(header)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{name} is in .npy format {version}, not 1.0 or 2.0")
    try:
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(header)
    except (ValueError, TypeError, SyntaxError, tokenize.TokenError) as exc:  # numpy checks a bad one in its ways
        raise ValueError(f"{name} has no readable .npy header: {exc}") from None
    if dtype.hasobject:
        raise ValueError(f"{name} holds Python objects, which only unpickling could read")
    offset = data_start + header.tell()
    count = math.prod(shape)
    if data_end - offset != count * dtype.itemsize:
        raise ValueError(f"{name} holds {data_end - offset} bytes of data, not the {count * dtype.itemsize} of {shape}")
    if data_end == offset:
        return np.empty(shape, dtype)
    array = np.frombuffer(buffer, dtype, count, offset)
    if not array.flags.aligned:
        array = array.copy()
    return array.reshape(shape, order="F" if fortran_order else "C")


class _BufferFile(io.RawIOBase):
    """A read-only file over a buffer, for zipfile to read the central directory from (io.BytesIO would copy
    the whole buffer)."""

    def __init__(self, buffer: bytearray) -> None:
        super().__init__()
        self._view = memoryview(buffer)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the file")
        self._position = base + offset
        return self._position

    def readinto(self, into) -> int:
        data = self._view[self._position : self._position + len(into)]
        into[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._view.release()
        super().close()


def params_fingerprint(params: EngineParams) -> str:
    """SHA-256 of the parameters, so that a step refuses files written for other ones."""
    return hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode("utf-8")).hexdigest()


def _header(params: EngineParams) -> NpzArrays:
    return {"engine_version": np.array(ENGINE_VERSION), "params_fingerprint": np.array(params_fingerprint(params))}


def _check_header(data: NpzArrays, params: EngineParams, what: str) -> None:
    if str(data["engine_version"]) != ENGINE_VERSION:
        raise ValueError(f"the {what} was written by engine {data['engine_version']}, not {ENGINE_VERSION}")
    if str(data["params_fingerprint"]) != params_fingerprint(params):
        raise ValueError(f"the {what} was written for other engine parameters")


def _behaviours(arrays: PostArrays, params: EngineParams) -> list[str]:
    return [b for b in params.behaviours if b in arrays.objects]


def partition_common(arrays: PostArrays, params: EngineParams, n_shards: int) -> NpzArrays:
    """What every step of a run shares: sizes, the codec's width, per-account activity, parameters, version."""
    codec = match_codec(arrays, with_rank=False)
    out = {
        **_header(params),
        "meta": np.array([arrays.n_posts, arrays.n_accounts, codec.width, n_shards], dtype=np.int64),
        "behaviours": np.array(_behaviours(arrays, params), dtype=np.str_),
    }
    for behaviour in _behaviours(arrays, params):
        activity = arrays.objects[behaviour].activity
        out[f"activity:{behaviour}"] = activity if activity is not None else np.zeros(arrays.n_accounts, dtype=np.int64)
    return out


def partition_shards(arrays: PostArrays, params: EngineParams, n_shards: int) -> Iterator[NpzArrays]:
    """Per shard, in shard order: the actions of every behaviour on that shard's objects.

    Per behaviour: ``obj`` (object codes of the shard's own, in the table's order), ``objects`` (the table's code
    of each of them), ``post``, ``account``, ``time`` and, for a codec that numbers posts by rank, ``rank`` per
    action; for similar-text also ``band`` per object, ``text_row`` per action and the ``text_sig`` and
    ``text_bands`` rows it points to.
    """
    if n_shards < 1:
        raise ValueError("n_shards must be >= 1")
    codec = match_codec(arrays)
    # Per behaviour, the actions in shard order (a stable sort keeps each shard's in table order).
    split: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for behaviour in _behaviours(arrays, params):
        table = arrays.objects[behaviour]
        action_shard = object_shards(table, n_shards)[table.obj] if n_shards > 1 else np.zeros(len(table.obj), np.int64)
        order = np.argsort(action_shard, kind="stable")
        bounds = np.searchsorted(action_shard[order], np.arange(n_shards + 1))
        split[behaviour] = order, bounds
    for shard in range(n_shards):
        out = {**_header(params), "meta": np.array([shard, n_shards], dtype=np.int64)}
        for behaviour, (order, bounds) in split.items():
            table = arrays.objects[behaviour]
            actions = order[bounds[shard] : bounds[shard + 1]]
            out.update(_shard_actions(arrays, table, codec.rank, actions, behaviour))
        yield out


def _shard_actions(
    arrays: PostArrays, table: ObjectTable, rank: np.ndarray | None, actions: np.ndarray, behaviour: str
) -> NpzArrays:
    obj, post = table.obj[actions], table.post[actions]
    first = np.ones(len(obj), dtype=bool)
    np.not_equal(obj[1:], obj[:-1], out=first[1:])
    out = {
        f"obj:{behaviour}": np.cumsum(first) - 1,
        f"objects:{behaviour}": obj[first],
        f"post:{behaviour}": post,
        f"account:{behaviour}": arrays.account[post],
        f"time:{behaviour}": arrays.time[post],
    }
    if rank is not None:
        out[f"rank:{behaviour}"] = rank[post]
    if table.band is not None:
        assert arrays.text_row is not None and arrays.text_sig is not None and arrays.text_bands is not None
        rows, text_row = np.unique(arrays.text_row[post], return_inverse=True)
        out[f"band:{behaviour}"] = table.band[obj[first]]
        out[f"text_row:{behaviour}"] = text_row.astype(np.int64)
        out[f"text_sig:{behaviour}"] = arrays.text_sig[rows]
        out[f"text_bands:{behaviour}"] = arrays.text_bands[rows]
    return out


def shard_edges_from_partition(common: NpzArrays, partition: NpzArrays, params: EngineParams) -> PartialEdges:
    """A shard's partial edges from its partition alone: the same, byte for byte, as shard_edges on the arrays."""
    _check_header(common, params, "common file")
    _check_header(partition, params, "partition")
    _, n_accounts, width, n_shards = (int(x) for x in common["meta"])
    shard, partition_shards_count = (int(x) for x in partition["meta"])
    if partition_shards_count != n_shards:
        raise ValueError(f"the partition is one of {partition_shards_count} shards, the run has {n_shards}")
    part = PartialEdges(shard=shard, n_shards=n_shards, n_accounts=n_accounts)
    for behaviour in params.behaviours:
        if f"obj:{behaviour}" not in partition or len(partition[f"obj:{behaviour}"]) < 2:
            keys, crowd, n_pairs = np.zeros(0, dtype=np.int64), np.zeros(n_accounts, dtype=np.int64), 0
        else:
            actions = _actions(partition, behaviour, width)
            keys, crowd, n_pairs = actions_matched_keys(actions, behaviour, params, n_accounts, width)
        part.matched[behaviour] = keys
        part.crowd[behaviour] = crowd
        part.n_pairs[behaviour] = n_pairs
    return part


def shard_pairs_from_partition(
    common: NpzArrays, partition: NpzArrays, params: EngineParams, selected: dict[str, SelectedEdges]
) -> NpzArrays:
    """A shard's evidence pass: per behaviour, the distinct pairs of posts on its objects that make a kept edge
    (``pairs:<behaviour>``, as ``EdgeIndex.pair_keys`` gives them). Their union over the shards is what
    ``edge_details`` finds sweeping the whole sample. Also the co-reshare table's objects and posts, the one table
    the groups' features read."""
    _check_header(common, params, "common file")
    _check_header(partition, params, "partition")
    n_posts, n_accounts, _, _ = (int(x) for x in common["meta"])
    out = {**_header(params), "meta": partition["meta"]}
    for behaviour, kept in selected.items():
        found = np.zeros(0, dtype=np.int64)
        if f"obj:{behaviour}" in partition:
            actions = _actions(partition, behaviour, width=0)
            found = EdgeIndex(kept.a, kept.b, n_accounts).pair_keys(actions, behaviour, params, n_posts)
        out[f"pairs:{behaviour}"] = found
    if "obj:co-reshare" in partition:
        out["obj:co-reshare"], out["post:co-reshare"] = partition["obj:co-reshare"], partition["post:co-reshare"]
    return out


def _actions(partition: NpzArrays, behaviour: str, width: int) -> Actions:
    post = partition[f"post:{behaviour}"]
    number = partition.get(f"rank:{behaviour}", post) if width else None
    return Actions(
        obj=partition[f"obj:{behaviour}"],
        post=post,
        account=partition[f"account:{behaviour}"],
        time=partition[f"time:{behaviour}"],
        number=number,
        band=partition.get(f"band:{behaviour}"),
        text_row=partition.get(f"text_row:{behaviour}"),
        text_sig=partition.get(f"text_sig:{behaviour}"),
        text_bands=partition.get(f"text_bands:{behaviour}"),
    )


def strings_to_arrays(name: str, strings: list[str]) -> NpzArrays:
    """Strings as one UTF-8 byte array and the end offset of each (in characters), never as objects."""
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    return {
        f"{name}:utf8": np.frombuffer("".join(strings).encode("utf-8"), dtype=np.uint8),
        f"{name}:ends": np.cumsum(lengths),
    }


def strings_from_arrays(data: NpzArrays, name: str) -> list[str]:
    """The inverse of strings_to_arrays."""
    text = data[f"{name}:utf8"].tobytes().decode("utf-8")
    ends = data[f"{name}:ends"].tolist()
    return [text[start:end] for start, end in zip([0, *ends[:-1]] if ends else [], ends, strict=True)]


def finalise_arrays(arrays: PostArrays) -> NpzArrays:
    """What finalise reads of the whole sample, as plain arrays.

    Left out: the objects' keys (the shards have the objects) and the account records' fields that scoring
    never reads (it reads the handle and the creation time); the activity is in the common file.
    """
    out: NpzArrays = {"account": arrays.account, "time": arrays.time}
    out |= strings_to_arrays("post_keys", arrays.post_keys)
    out |= strings_to_arrays("account_keys", arrays.account_keys)
    for behaviour, table in arrays.objects.items():
        out[f"obj:{behaviour}"], out[f"post:{behaviour}"] = table.obj, table.post
        if table.band is not None:
            out[f"band:{behaviour}"] = table.band
    for name in ("text_sig", "text_bands", "text_row"):
        if getattr(arrays, name) is not None:
            out[name] = getattr(arrays, name)
    records = [arrays.accounts.get(key) for key in arrays.account_keys]
    out["record"] = np.fromiter((r is not None for r in records), dtype=bool, count=len(records))
    out["record_created"] = np.fromiter(
        (r.created_at.timestamp() if r is not None and r.created_at is not None else np.nan for r in records),
        dtype=np.float64,
        count=len(records),
    )
    out |= strings_to_arrays("record_handle", [r.handle if r is not None else "" for r in records])
    out |= strings_to_arrays("handle", [arrays.handles.get(key, "") for key in arrays.account_keys])
    return out


def arrays_from_finalise(common: NpzArrays, data: NpzArrays) -> PostArrays:
    """PostArrays from the common file and finalise_arrays: all that finalise reads, identical to the arrays'."""
    account_keys = strings_from_arrays(data, "account_keys")
    arrays = PostArrays(
        post_keys=strings_from_arrays(data, "post_keys") if "post_keys:ends" in data else [],
        account_keys=account_keys,
        account=data["account"],
        time=data["time"],
        objects={},
        text_sig=data.get("text_sig"),
        text_bands=data.get("text_bands"),
        text_row=data.get("text_row"),
    )
    for behaviour in common["behaviours"].tolist():
        if f"obj:{behaviour}" not in data:
            continue
        arrays.objects[behaviour] = ObjectTable(
            keys=[],
            obj=data[f"obj:{behaviour}"],
            post=data[f"post:{behaviour}"],
            band=data.get(f"band:{behaviour}"),
            activity=common[f"activity:{behaviour}"],
        )
    record_handle = strings_from_arrays(data, "record_handle")
    created = data["record_created"]
    for i in np.flatnonzero(data["record"]).tolist():
        platform, _, account_id = account_keys[i].partition(SEP)
        arrays.accounts[account_keys[i]] = AccountRecord(
            platform=platform,
            account_id=account_id,
            handle=record_handle[i],
            created_at=None if np.isnan(created[i]) else datetime.fromtimestamp(float(created[i]), UTC),
        )
    arrays.handles = {
        key: handle for key, handle in zip(account_keys, strings_from_arrays(data, "handle"), strict=True) if handle
    }
    return arrays
