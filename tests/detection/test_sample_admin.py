"""A sample's page links to its runs and groups and offers "Score this sample" (after a confirmation) and "Add a
file"; the upload form names the canonical columns; an import names the columns its layout ignored."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from detection.ingest.jobs import sample_import_run
from detection.models import CoordinatedGroup, GroupStatus, ImportStatus, Sample, SampleImport, ScoringRun

pytestmark = pytest.mark.django_db

CSV = (
    "platform,post_id,account_id,created_at,text,sentiment,Campaign Tag\n"
    "x,1,a,2024-01-01T00:00:00Z,hello,0.3,t1\n"
    "x,2,b,2024-01-01T00:00:05Z,hello,0.1,t1\n"
)


@pytest.fixture
def sample(db):
    sample = Sample.objects.create(name="Links sample", posts_count=2, accounts_count=2)
    run = ScoringRun.objects.create(sample=sample, engine_version="test", status="done")
    ScoringRun.objects.create(sample=sample, engine_version="test", status="failed")
    CoordinatedGroup.objects.create(run=run, number=1, score=0.9, size=3)
    CoordinatedGroup.objects.create(run=run, number=2, score=0.5, size=3, status=GroupStatus.REJECTED)
    other = Sample.objects.create(name="Other sample")
    other_run = ScoringRun.objects.create(sample=other, engine_version="test", status="done")
    CoordinatedGroup.objects.create(run=other_run, number=1, score=0.9, size=3)
    return sample


def test_the_sample_page_links_to_its_runs_and_groups_and_offers_both_buttons(admin_client, sample):
    html = admin_client.get(reverse("admin:detection_sample_change", args=[sample.pk])).content.decode()
    runs = reverse("admin:detection_scoringrun_changelist") + f"?sample__id__exact={sample.pk}"
    groups = reverse("admin:detection_coordinatedgroup_changelist") + f"?run__sample__id__exact={sample.pk}"
    assert f'href="{runs}">2 scoring runs</a>' in html
    assert f'href="{groups}">2 groups</a>' in html
    assert "1 to review</a>" in html
    assert reverse("admin:detection_sample_score_this_sample", args=[sample.pk]) in html
    assert reverse("admin:detection_sample_add_a_file", args=[sample.pk]) in html
    assert "Score this sample" in html and "Add a file" in html
    assert "None yet (seen in the imported posts)" in html and ">[]<" not in html.replace(" ", "").replace("\n", "")
    listed = admin_client.get(runs).content.decode()
    assert f"Run {sample.runs.first().pk} of Links sample" in listed and " of Other sample" not in listed


def test_score_this_sample_asks_first_then_starts_a_run(admin_client, sample, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("admin:detection_sample_score_this_sample", args=[sample.pk])
    response = admin_client.get(url)
    assert response.status_code == 200 and "Yes, score it" in response.content.decode()
    assert sample.runs.count() == 2
    response = admin_client.post(url)
    run = sample.runs.order_by("-pk").first()
    assert sample.runs.count() == 3
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:detection_scoringrun_change", args=[run.pk]
    )


def test_add_a_file_opens_the_upload_form_with_the_sample_chosen_and_the_canonical_columns(admin_client, sample):
    response = admin_client.get(reverse("admin:detection_sample_add_a_file", args=[sample.pk]))
    assert response.status_code == 302
    html = admin_client.get(response["Location"]).content.decode()
    assert f'<option value="{sample.pk}" selected>' in html
    columns = html.split('id="canonical-columns"')[1].split("</span>")[0]
    assert "<code>post_id, account_id, created_at</code> (required)" in columns
    for name in ("platform", "text", "reshare_of", "reply_to", "urls", "hashtags", "mentions", "media_hashes", "lang"):
        assert name in columns


def test_an_import_names_the_columns_its_layout_ignored(admin_client, sample, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = SampleImport.objects.create(
        sample=sample, file=SimpleUploadedFile("tagged.csv", CSV.encode()), original_name="tagged.csv"
    )
    sample_import_run(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.inserted == 2
    assert job.format == "canonical-csv" and job.unknown_columns == ["sentiment", "campaign tag"]
    html = admin_client.get(reverse("admin:detection_sampleimport_change", args=[job.pk])).content.decode()
    warning = html.split('class="unknown-columns-warning')[1].split("</span>")[0]
    assert "2 column(s)" in warning and "<code>sentiment</code>, <code>campaign tag</code>" in warning


def test_an_import_that_reads_every_column_has_no_warning(admin_client, sample, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    text = "platform,post_id,account_id,created_at,text\nx,1,a,2024-01-01T00:00:00Z,hi\n"
    job = SampleImport.objects.create(sample=sample, file=SimpleUploadedFile("plain.csv", text.encode()))
    sample_import_run(import_id=job.pk)
    job.refresh_from_db()
    assert job.unknown_columns == []
    html = admin_client.get(reverse("admin:detection_sampleimport_change", args=[job.pk])).content.decode()
    assert "unknown-columns-warning" not in html


def test_the_readme_example_file_imports_without_a_warning_or_a_rejected_row(sample, settings, tmp_path):
    from tests.conftest import REPO

    settings.MEDIA_ROOT = tmp_path
    example = (REPO / "docs" / "examples" / "canonical-posts.csv").read_bytes()
    job = SampleImport.objects.create(sample=sample, file=SimpleUploadedFile("example.csv", example))
    sample_import_run(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.format, job.unknown_columns) == (ImportStatus.DONE, "canonical-csv", [])
    assert (job.rows_done, job.rejected, job.inserted) == (4, 0, 4)
