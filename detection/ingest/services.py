"""Writes that start an ingestion: a sample, an import job for a file, and its queueing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import transaction

from detection import dispatch
from detection.models import Sample, SampleImport


def sample_create(*, name: str, tlp: str, created_by=None, **fields: Any) -> Sample:
    """A new, empty sample, validated before it is saved."""
    sample = Sample(name=name, tlp=tlp, created_by=created_by, **fields)
    sample.full_clean()
    sample.save()
    return sample


def sample_import_create(
    *,
    sample: Sample,
    upload: File | None = None,
    source_path: str | os.PathLike | None = None,
    format: str = "",  # noqa: A002 - the name users know
    platform: str = "",
    created_by=None,
) -> SampleImport:
    """Record an import job for an uploaded file or a file on the server; nothing is read yet."""
    if (upload is None) == (source_path is None):
        raise ValueError("Give either an uploaded file or a path on the server.")
    job = SampleImport(sample=sample, format=format, platform=platform, created_by=created_by)
    if upload is not None:
        job.original_name = Path(upload.name or "upload").name[:500]
        job.file.save(job.original_name, upload, save=False)
    else:
        path = Path(source_path)
        if not path.is_file():
            raise FileNotFoundError(f"No such file: {path}")
        job.source_path = str(path.resolve())
        job.original_name = path.name[:500]
    job.save()
    return job


def sample_import_enqueue(*, job: SampleImport) -> None:
    """Queue the import on a worker once the current transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: dispatch.workers().sample_import(job.pk))
