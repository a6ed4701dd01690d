"""Writing many rows to PostgreSQL at once: primary keys reserved from a table's sequence, rows sent by COPY.

Shared by the sample import (`ingest.pg_writer`) and a scoring run's results (`run_results`). Rows go as COPY
text (`ingest.batches.copy_line` and `copy_escaped` make it) or, when every column is a number, as COPY's binary
format built from numpy columns (`BinaryCopy`): no Python loop over the rows, and no number formatted as text by
us or parsed by PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import numpy as np
from django.db import connection, models

# The sequence's name in an initplan: evaluated once, not once per row (ten times faster); the keys come back
# as one string, not one result row each.
# The sequence is named, not looked up in the statement: a looked-up name is cast to regclass again for every
# value (1.8 s instead of 1.0 s per million keys).
_NEXT_IDS = "SELECT string_agg(nextval(%s::regclass)::text, ',') FROM generate_series(1, %s)"

_SEQUENCES: dict[str, str] = {}


def next_ids(cursor, table: str, n: int) -> list[bytes]:
    """N primary keys from the table's sequence, as COPY text, in one statement."""
    if not n:
        return []
    cursor.execute(_NEXT_IDS, [_sequence(cursor, table), n])
    return cursor.fetchone()[0].encode().split(b",")


def _sequence(cursor, table: str) -> str:
    """The name of the sequence behind the table's id (the same in every database the migrations built)."""
    if table not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        _SEQUENCES[table] = cursor.fetchone()[0]
    return _SEQUENCES[table]


def copy_in(cursor, statement: str, data: bytes | Iterable[bytes]) -> None:
    """COPY rows given as text, each line ending in a newline: one bytes object, or chunks of them streamed as
    they are made. Nothing is sent for no rows."""
    chunks = iter([data] if isinstance(data, bytes) else data)
    first = next((chunk for chunk in chunks if chunk), None)
    if first is None:
        return
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:  # IntegrityError, as Django's
        for chunk in chain([first], chunks):
            for start in range(0, len(chunk), 1 << 20):
                copy.write(chunk[start : start + (1 << 20)])


# Column types sent in COPY's binary format, as their binary send/receive functions read them: big-endian.
_WIRE_TYPES = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2", "double precision": ">f8", "boolean": "?"}


class BinaryCopy:
    """COPY into some of a model's columns in PostgreSQL's binary format, the rows made from numpy columns.

    Every named column is a number (or boolean) column given as an array, a NumPy masked array where some are NULL,
    or one value for every row; text columns take one string for every row. The model's other fields take their
    model default, as the text COPY of `run_results` gives them; an id not named its column's identity. The data
    to send is `HEADER`, any number of `rows(...)` blocks, then `TRAILER`
    (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format").
    """

    HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
    TRAILER = b"\xff\xff"

    def __init__(self, model: type[models.Model], names: tuple[str, ...]) -> None:
        meta = model._meta
        rest = [f for f in meta.concrete_fields if f.name not in names and not f.primary_key]
        self.fields = [meta.get_field(name) for name in names] + rest
        self.defaults = {f.name: f.get_default() for f in rest}
        columns = ", ".join(f.column for f in self.fields)
        self.statement = f"COPY {meta.db_table} ({columns}) FROM STDIN WITH (FORMAT binary)"

    def rows(self, n: int, values: dict[str, np.ndarray | int | float | str | None]) -> bytes:
        """N rows of the named columns' values (in any order) as COPY binary tuples."""
        values = {**self.defaults, **values}
        layout: list[tuple[str, str]] = [("fields", ">i2")]
        columns = []
        for i, field in enumerate(self.fields):
            value, null, wire = _wire_column(field, values[field.name], n)
            layout += [(f"size{i}", ">i4"), (f"value{i}", wire)]
            columns.append((value, null))
        rows = np.empty(n, dtype=layout)
        rows["fields"] = len(self.fields)
        keep = None  # the bytes of the values of NULL fields are left out
        for i, (value, null) in enumerate(columns):
            rows[f"size{i}"] = rows.dtype[f"value{i}"].itemsize
            rows[f"value{i}"] = value
            if null is not None and null.any():
                if keep is None:
                    keep = np.ones((n, rows.itemsize), dtype=bool)
                rows[f"size{i}"][null] = -1
                start = rows.dtype.fields[f"value{i}"][1]
                keep[null, start : start + rows.dtype[f"value{i}"].itemsize] = False
        data = rows.view(np.uint8).reshape(n, rows.itemsize)
        return (data if keep is None else data[keep]).tobytes()


def _wire_column(field: models.Field, value, n: int) -> tuple[np.ndarray | bytes, np.ndarray | None, str]:
    """A column's values as its binary wire type, which rows are NULL (None: none), and that type."""
    db_type = field.db_type(connection)
    if isinstance(value, str):
        if not db_type.startswith(("varchar", "text")):
            raise TypeError(f"{field}: a string for a column of {db_type}")
        encoded = value.encode()
        return encoded, None, f"S{len(encoded)}"
    if db_type not in _WIRE_TYPES:
        raise TypeError(f"{field}: no binary COPY for a column of {db_type}")
    wire = np.dtype(_WIRE_TYPES[db_type])
    if value is None:
        return np.zeros(n, dtype=wire), np.ones(n, dtype=bool), wire.str
    null = np.ma.getmaskarray(value) if np.ma.isMaskedArray(value) else None
    array = np.ma.getdata(value) if null is not None else np.asarray(value)
    if array.ndim == 0:
        array = np.full(n, array)
    if wire.kind == "i":
        if array.dtype.kind not in "iu":
            raise TypeError(f"{field}: {array.dtype} values for a column of {db_type}")
        valid = array if null is None else array[~null]
        info = np.iinfo(wire)
        if len(valid) and (valid.min() < info.min or valid.max() > info.max):
            raise ValueError(f"{field}: values out of the range of {db_type}")
    elif wire.kind == "b" and array.dtype.kind != "b":
        raise TypeError(f"{field}: {array.dtype} values for a column of {db_type}")
    return array.astype(wire), null, wire.str
