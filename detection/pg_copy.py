"""Writing many rows to PostgreSQL at once: primary keys reserved from a table's sequence, rows sent by COPY.

Shared by the sample import (`ingest.pg_writer`) and a scoring run's results (`run_results`). The rows arrive as
COPY text already: `ingest.batches.copy_line` and `copy_escaped` make it.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

from django.db import connection

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
