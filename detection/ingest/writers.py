"""What every writer of import batches does: `BatchWriter`, and the counts it returns for a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from detection.ingest.batches import Batch


@dataclass(frozen=True)
class WriteCounts:
    """What one batch did to the sample's records: (inserted, merged) accounts and (inserted, merged) posts.

    A merged record is one stored already that the batch changed; one it left as it was counts in neither.
    """

    accounts: tuple[int, int]
    posts: tuple[int, int]


class BatchWriter(Protocol):
    """Stores the batches of one import among one sample's records.

    Whatever the writer, the rows it leaves are the same: a new post or account is inserted and a post linked
    to the sample; a post stored already becomes `merge_post(stored, seen)`, an account
    `account_values_merged(stored, seen)`; nothing outside the sample is read or changed; a batch written again
    changes nothing. tests/detection/test_writer_contract.py holds every writer to this.
    """

    copy_text: bool  # the batches it takes carry their posts as COPY text (`Batch.payload`), not as records

    def write(self, batch: Batch) -> WriteCounts:
        """Store a batch inside the caller's transaction and count what it did."""
        ...

    def committed(self) -> None:
        """The transaction of the last batch written has committed: keep what it taught for the next ones."""
        ...
