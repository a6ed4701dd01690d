"""Reads of ingestion: what an import rejected."""

from __future__ import annotations

from collections.abc import Iterator

from detection.models import SampleImport


def rejected_rows_csv(*, job: SampleImport) -> Iterator[list[str]]:
    """The rejected rows of an import as CSV rows by line, every cell neutralised against formula injection."""
    from detection.engine.output import safe_cell  # loads numpy and the engine: only an export needs them

    yield ["line", "field", "reason", "raw"]
    for row in job.rejected_rows.order_by("line").iterator(chunk_size=2000):
        yield [str(row.line), safe_cell(row.field), safe_cell(row.reason), safe_cell(row.raw)]
