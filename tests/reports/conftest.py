import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns import vocabularies as vocab
from campaigns.models import Technique
from tests.conftest import REPO, require

ARTEFACTS = REPO / "artefacts" / "reports"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Rendered files go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings.MEDIA_ROOT


@pytest.fixture
def no_pdf(monkeypatch):
    """Skip WeasyPrint where a test is not about the PDF (it is the slow part of a build)."""
    monkeypatch.setattr("reports.render.report_pdf", lambda html: b"%PDF-1.7 stand-in")


@pytest.fixture
def eager_tasks():
    """Tasks run in the test's process, whatever broker the environment names."""
    from tracker.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def disarm_techniques() -> None:
    """The two DISARM techniques the demo catalogue maps (loading the whole framework is not needed here)."""
    for external_id, name, tactic in (
        ("T0002", "Facilitate State Propaganda", "TA02"),
        ("T0003", "Leverage Existing Narratives", "TA14"),
    ):
        Technique.objects.get_or_create(
            framework=vocab.Framework.DISARM,
            external_id=external_id,
            defaults={"name": name, "tactic_id": tactic, "tactic_name": vocab.DISARM_TACTICS[tactic]["name"]},
        )


@pytest.fixture
def demo_catalogue(db):
    from campaigns.demo import demo_catalogue_load

    disarm_techniques()
    demo_catalogue_load()


@pytest.fixture
def scoring_group(db):
    """A confirmed coordinated group from a GREEN sample scored today (when the scoring models exist)."""
    from detection.models import CoordinatedGroup, Sample, ScoringRun

    sample = Sample.objects.create(name="Scored sample", tlp=vocab.Tlp.GREEN, platforms=["x", "facebook"])
    run = ScoringRun.objects.create(sample=sample, engine_version="test", status="done", finished_at=timezone.now())
    return CoordinatedGroup.objects.create(
        run=run,
        number=1,
        score=0.91,
        size=24,
        behaviours=["co_reshare", "co_link"],
        status="confirmed",
        first_activity=timezone.now() - timedelta(hours=3),
        last_activity=timezone.now(),
    )


def pdf_text(path: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext when present, pypdf otherwise)."""
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout
        return text.decode("utf-8").split("\f")[:-1]
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


def pdf_to_pngs(path: Path, prefix: str, resolution: int = 60) -> list[Path]:
    require(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is not installed")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTEFACTS.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", str(path), str(ARTEFACTS / prefix)], check=True)
    return sorted(ARTEFACTS.glob(f"{prefix}-*.png"))


def read(field) -> str:
    """A rendered file's text."""
    return Path(field.path).read_text(encoding="utf-8")


def overflowing_boxes(html: str) -> list[tuple[int, str, float]]:
    """Boxes that stick out past the right edge of a PDF page's content area: (page, box type, points)."""
    from weasyprint import HTML

    found = []
    for number, page in enumerate(HTML(string=html).render().pages, start=1):
        page_box = page._page_box
        right = page_box.content_box_x() + page_box.width
        for box in page_box.descendants():
            if box is page_box or type(box).__name__.startswith("Margin"):
                continue
            excess = box.position_x + box.margin_width() - right
            if excess > 1:
                found.append((number, type(box).__name__, round(excess, 1)))
    return found
