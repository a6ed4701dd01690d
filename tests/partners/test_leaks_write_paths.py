"""The leak test's write paths: uploads that collide with, or would merge into, other owners' posts, accounts and
samples, then a run of each upload and every read route and report, as every persona.

Each uploader reuses every post id and account id stored anywhere in the world, with values of its own (a
canary text and handle, links and hashtags that would fill other owners' lists). Nothing another owner can see
may change, the import's counters may reveal only the uploader's own rows, and no canary may reach a persona
outside its audience."""

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from detection.models import Post, SampleImport, ScoringRun, SocialAccount
from reports.services import report_build
from reports.visibility import Audience

from .conftest import ORG_A_PEOPLE, canary
from .test_leaks import assert_each_persona_saw_what_it_may, leaks, read_everything

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

POST_COLUMNS = ["platform", "post_id", "account_id", "created_at", "text", "urls", "hashtags"]
ACCOUNT_COLUMNS = ["platform", "account_id", "handle", "display_name", "followers", "description"]
# persona -> who may see what it uploads (an AMBER sample of its organisation)
UPLOADERS = {
    "amber_a": ORG_A_PEOPLE | {"researcher"},
    "amber_b": {"amber_b", "researcher"},
    "green": {"green", "researcher"},
    "red_person": ORG_A_PEOPLE | {"researcher"},
}


def csv_upload(name: str, columns: list[str], rows: list[dict]) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def colliding_rows(label: str, persona: str) -> tuple[list[dict], list[dict]]:
    """Posts and accounts with every key the store holds, in any scope, carrying the uploader's own values."""
    stored = {(p.platform, p.post_id): p for p in Post.objects.select_related("account").order_by("-pk")}
    keyed = [(key, post.account.account_id, post.created_at) for key, post in sorted(stored.items())]
    # and posts of ids nobody holds yet, so that the uploader's own values land somewhere
    start = min(created_at for *_, created_at in keyed)
    keyed += [(("x", f"fresh-{persona}-{i}"), f"fresh-{persona}-{i % 2}", start) for i in range(4)]
    posts = [
        {
            "platform": platform,
            "post_id": post_id,
            "account_id": account_id,
            "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": f"{label} {post_id}",
            "urls": f"https://inject-{persona.replace('_', '-')}.example/shared",
            "hashtags": f"inject{persona.replace('_', '')}",
        }
        for (platform, post_id), account_id, created_at in keyed
    ]
    keys = sorted({(a.platform, a.account_id) for a in SocialAccount.objects.all()})
    accounts = [
        {"platform": platform, "account_id": account_id, "handle": f"{label}{i}", "display_name": label, "followers": 7}
        for i, (platform, account_id) in enumerate(keys)
    ]
    return posts, accounts


def samples_snapshot() -> dict[int, list[tuple]]:
    """Every stored value of every post and account, by the sample that holds it."""
    snapshot: dict[int, list[tuple]] = {}
    for model in (Post, SocialAccount):
        sample_at = [f.attname for f in model._meta.concrete_fields].index("sample_id")
        for row in model.objects.order_by("pk").values_list():
            snapshot.setdefault(row[sample_at], []).append(row)
    return snapshot


def test_uploads_colliding_with_other_owners_records_change_and_reveal_nothing(
    world, celery_in_process, django_capture_on_commit_callbacks
):
    uploads = {}
    for persona, audience in UPLOADERS.items():
        label = canary("upload", persona.replace("_", ""))
        world.audience[label] = audience
        posts, accounts = colliding_rows(label, persona)
        before = samples_snapshot()
        client = world.client(persona)

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/samples/",
                {"name": f"upload by {persona}", "tlp": "AMBER", "file": csv_upload("posts.csv", POST_COLUMNS, posts)},
            )
        assert response.status_code == 202, response.content
        sample_id = response.json()["sample"]["id"]
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/samples/{sample_id}/imports/",
                {"file": csv_upload("accounts.csv", ACCOUNT_COLUMNS, accounts)},
            )
        assert response.status_code == 202, response.content
        jobs = SampleImport.objects.filter(sample_id=sample_id).order_by("pk")
        post_job, account_job = jobs
        assert post_job.status == account_job.status == "done", (post_job.error, account_job.error)
        # The counters speak of the new sample alone: a key held anywhere else counts as new.
        assert (post_job.inserted, post_job.updated, post_job.rejected) == (len(posts), 0, 0)
        authors = {(p["platform"], p["account_id"]) for p in posts}
        assert account_job.inserted == sum((a["platform"], a["account_id"]) not in authors for a in accounts)
        assert account_job.updated == sum((a["platform"], a["account_id"]) in authors for a in accounts)
        assert account_job.rejected == 0

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/samples/{sample_id}/runs/",
                {"min_weight": 1, "window_s": 3600},
                content_type="application/json",
            )
        assert response.status_code == 202, response.content
        run = ScoringRun.objects.get(sample_id=sample_id)
        assert run.status == "done", run.error
        assert run.groups.exists()
        # the read routes below visit this run, its best group and its best account score by id too
        key = f"upload-{persona}"
        world.results[("run", key)] = run
        world.results[("group", key)] = run.groups.order_by("-score", "number").first()
        world.results[("account_score", key)] = run.account_scores.order_by("-score").first()

        after = samples_snapshot()
        for other in set(before) | set(after):
            if other != sample_id:
                assert after.get(other) == before.get(other), f"{persona}'s upload changed sample {other}'s records"
        uploads[persona] = sample_id

    failures, seen, _ = read_everything(world)
    assert not failures, "\n".join(failures[:50])
    assert_each_persona_saw_what_it_may(world, seen)

    # Reports built after the uploads name no account from a sample their audience may not see.
    for audience in (Audience(clearance="AMBER"), Audience(organisation=world.orgs["b"])):
        today = timezone.now().date()
        report = report_build(scope="global", object_id=None, start=date(2024, 1, 1), end=today, audience=audience)
        readers = {"clearance:AMBER": ["amber_a", "amber_b"], "org:org-b": ["amber_b"]}[audience.key]
        for field in ("json_file", "stix_file", "html_file"):
            text = Path(getattr(report, field).path).read_text("utf-8")
            for persona in readers:
                assert not leaks(world, persona, text), (audience.key, field, leaks(world, persona, text))
