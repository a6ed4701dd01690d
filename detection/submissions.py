"""A partner's writes to detection through the API: submitting a sample, adding a file, asking for a scoring run.

Each is written to the partners audit log as done by the calling principal.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from partners.models import AuditAction, Organisation
from partners.selectors import Principal
from partners.services import audit_by

from . import scoring
from .ingest import services
from .models import RunStatus, Sample, SampleImport, ScoringRun


def _submission_check(upload) -> None:
    if upload.size is not None and upload.size > settings.PARTNER_API_UPLOAD_MAX_BYTES:
        raise ValidationError({"file": f"Files are limited to {settings.PARTNER_API_UPLOAD_MAX_BYTES} bytes."})


def _file_queue(*, sample: Sample, file, format: str, platform: str, user) -> SampleImport:
    job = services.sample_import_create(sample=sample, upload=file, format=format, platform=platform, created_by=user)
    services.sample_import_enqueue(job=job)
    return job


def _audit(principal: Principal, *, action: str, address: str | None, record, tlp: str) -> None:
    audit_by(
        principal, action=action, address=address, object_type=record._meta.label_lower, object_ids=[record.pk], tlp=tlp
    )


def sample_submit(
    *,
    principal: Principal,
    name: str,
    file,
    description: str = "",
    tlp: str = "AMBER",
    collection_method: str = "other",
    format: str = "",  # noqa: A002 - the name users know
    platform: str = "",
    user=None,
    address: str | None = None,
) -> tuple[Sample, SampleImport]:
    """A partner's new sample, owned by its organisation, with its first file queued for import.

    Sample names are unique per owner: a name is refused only when the caller's own organisation already
    uses it, so a submission never tells whether another organisation's sample of that name exists.
    """
    _submission_check(file)
    owner = Organisation.objects.get(pk=principal.organisation_id) if principal.organisation_id else None
    with transaction.atomic():
        taken = Sample.objects.filter(owner=owner, name=name).values_list("pk", flat=True).first()
        if taken is not None:
            raise ValidationError(
                {
                    "name": f'Your organisation already has a sample named "{name}" (id {taken}); add the file to it '
                    f"with POST /api/v1/samples/{taken}/imports/, or choose another name."
                }
            )
        sample = services.sample_create(
            name=name,
            tlp=tlp,
            created_by=user,
            owner=owner,
            description=description,
            collection_method=collection_method,
        )
        job = _file_queue(sample=sample, file=file, format=format, platform=platform, user=user)
        _audit(principal, action=AuditAction.SUBMIT, address=address, record=sample, tlp=tlp)
    return sample, job


def sample_file_add(
    *,
    principal: Principal,
    sample: Sample,
    file,
    format: str = "",  # noqa: A002
    platform: str = "",
    user=None,
    address: str | None = None,
) -> SampleImport:
    """Another file for a sample the caller's organisation owns, queued for import."""
    _submission_check(file)
    with transaction.atomic():
        job = _file_queue(sample=sample, file=file, format=format, platform=platform, user=user)
        _audit(principal, action=AuditAction.SUBMIT, address=address, record=job, tlp=sample.tlp)
    return job


class RunUnfinished(Exception):
    """A sample is scored one run at a time through the API: its previous run has not finished."""


def sample_score(
    *, principal: Principal, sample: Sample, params: dict, user=None, address: str | None = None
) -> ScoringRun:
    """A run of a partner's sample, recorded and queued by detection.scoring, unless one is still under way."""
    with transaction.atomic():
        Sample.objects.select_for_update().get(pk=sample.pk)  # two requests at once: the second sees the first run
        finished = [RunStatus.DONE, RunStatus.FAILED]
        unfinished = ScoringRun.objects.filter(sample=sample).exclude(status__in=finished).values_list("pk", flat=True)
        if unfinished:
            raise RunUnfinished(f"Run {unfinished[0]} of this sample has not finished yet.")
        run = scoring.scoring_run_start(sample=sample, params=params, requested_by=user)
        _audit(principal, action=AuditAction.SCORE, address=address, record=run, tlp=sample.tlp)
    return run
