import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns import vocabularies as vocab
from campaigns.models import Asset, AttributionClaim, Narrative, Platform, Source, Takedown, Technique
from detection.models import AccountScore, CoordinatedGroup, Sample, ScoringRun, SocialAccount
from detection.triage import group_attach_to_campaign, group_review
from partners.markings import Tlp
from partners.models import Clearance, Organisation
from tests.conftest import REPO, require

from ..campaigns.factories import CampaignFactory, ElectionFactory, OperationFactory, ThreatActorFactory

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
    """The DISARM techniques the demo catalogue maps (loading the whole framework is not needed here)."""
    for external_id, name, tactic in (
        ("T0049", "Flood Information Space", "TA17"),
        ("T0085.001", "Develop AI-Generated Text", "TA06"),
        ("T0085.003", "Develop Inauthentic News Articles", "TA06"),
        ("T0087.001", "Develop AI-Generated Videos (Deepfakes)", "TA06"),
        ("T0088.001", "Develop AI-Generated Audio (Deepfakes)", "TA06"),
        ("T0097.202", "News Outlet Persona", "TA16"),
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
    """A confirmed coordinated group of two listed accounts (of 24), from a GREEN sample scored today."""
    sample = Sample.objects.create(name="Scored sample", tlp=Tlp.GREEN, platforms=["x", "facebook"])
    run = ScoringRun.objects.create(sample=sample, engine_version="test", status="done", finished_at=timezone.now())
    group = CoordinatedGroup.objects.create(
        run=run,
        number=1,
        score=0.91,
        size=24,
        behaviours=["co_reshare", "co_link"],
        status="confirmed",
        first_activity=timezone.now() - timedelta(hours=3),
        last_activity=timezone.now(),
    )
    for number, platform in enumerate(("x", "facebook")):
        account = SocialAccount.objects.create(
            sample=sample, platform=platform, account_id=f"10{number}", handle=f"member_{number}"
        )
        AccountScore.objects.create(run=run, account=account, group=group, score=0.9 - number / 10)
    return group


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


def squash(text: str) -> str:
    """Lower case letters and digits only: line breaks and hyphenation in PDF text cannot hide a canary."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


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


AMBER, RED, STRICT = "AMBER", "RED", "AMBER+STRICT"
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def canary(level: str, what: str) -> str:
    return f"Canary{level.replace('+', '')}{what}Zq"


@pytest.fixture
def planted():
    """A GREEN catalogue with AMBER, AMBER+STRICT and RED objects planted in and around it."""
    owner = Organisation.objects.create(name="Owner lab", slug="owner-lab")
    Clearance.objects.create(organisation=owner, ceiling="GREEN")
    other = Organisation.objects.create(name="Other lab", slug="other-lab")
    Clearance.objects.create(organisation=other, ceiling="GREEN")

    actor = ThreatActorFactory(name="Visible actor", tlp="GREEN")
    amber_actor = ThreatActorFactory(name=canary(AMBER, "Actor"), tlp=AMBER)
    amber_operation = OperationFactory(name=canary(AMBER, "Operation"), actor=actor, tlp=AMBER)
    election = ElectionFactory(name="Visible election", tlp="GREEN")
    amber_election = ElectionFactory(name=canary(AMBER, "Election"), tlp=AMBER)
    red_narrative = Narrative.objects.create(name=canary(RED, "Narrative"), tlp=RED)
    green_narrative = Narrative.objects.create(name="VisibleGreenNarrative", tlp="GREEN")
    amber_source = Source.objects.create(title=canary(AMBER, "Source"), publisher="Somebody", tlp=AMBER)
    today = timezone.localdate()

    green = CampaignFactory(
        name=f"VisibleGreenCampaign {HOSTILE}",
        actor=amber_actor,
        operation=amber_operation,
        tlp="GREEN",
        first_seen=today - timedelta(days=10),
        last_seen=today,
    )
    green.elections.set([election, amber_election])
    green.narratives.set([red_narrative, green_narrative])
    green.sources.set([amber_source])
    plain = CampaignFactory(name="VisiblePlainCampaign", actor=actor, tlp="CLEAR")
    plain.elections.set([election])
    amber = CampaignFactory(name=canary(AMBER, "Campaign"), actor=actor, tlp=AMBER, summary=canary(AMBER, "Summary"))
    amber.elections.set([election])
    CampaignFactory(name=canary(RED, "Campaign"), actor=actor, tlp=RED)
    CampaignFactory(name=canary(STRICT, "Campaign"), actor=actor, tlp=STRICT, owner=owner)

    claim = dict(claimant_category="government", campaign=green, actor=actor)
    AttributionClaim.objects.create(claimant=canary(RED, "Claimant"), tlp=RED, **claim)
    AttributionClaim.objects.create(claimant=canary(AMBER, "Claimant"), tlp=AMBER, **claim)
    AttributionClaim.objects.create(
        claimant="VisibleNamedClaimant",
        tlp="GREEN",
        confidence="high",
        claimant_category="media",
        campaign=plain,
        actor=actor,
    )
    AttributionClaim.objects.create(
        claimant="VisibleGreenClaimant",
        tlp="GREEN",
        source=amber_source,
        claimant_category="government",
        campaign=green,
        actor=amber_actor,
    )
    facebook = Platform.objects.get(code="facebook")
    Takedown.objects.create(
        platform=facebook,
        announced_on=today,
        campaign=green,
        tlp=AMBER,
        notes=canary(AMBER, "Takedown"),
        accounts_removed=987_654,
    )
    Takedown.objects.create(platform=facebook, announced_on=today, campaign=green, tlp="GREEN", accounts_removed=12)
    Asset.objects.create(asset_type="domain", identifier=f"{canary(RED, 'Domain')}.example", campaign=green, tlp=RED)
    Asset.objects.create(
        asset_type="account",
        platform=facebook,
        identifier=canary(AMBER, "Account"),
        campaign=green,
        tlp=AMBER,
        url=f"https://{canary(AMBER, 'Url')}.example/page",
    )
    Asset.objects.create(asset_type="domain", identifier="visible-green-domain.example", campaign=green, tlp="GREEN")
    Asset.objects.create(
        asset_type="website", identifier="https://Visible-Website.example/news", campaign=green, tlp="GREEN"
    )

    for tlp, number, size, member in ((AMBER, 1, 777, canary(AMBER, "Member")), ("GREEN", 2, 31, "VisibleMember")):
        sample = Sample.objects.create(name=f"Sample {tlp}", tlp=tlp, platforms=["x"])
        run = ScoringRun.objects.create(sample=sample, engine_version="t", status="done", finished_at=timezone.now())
        group = CoordinatedGroup.objects.create(run=run, number=number, score=0.8, size=size, behaviours=["co_reshare"])
        account = SocialAccount.objects.create(sample=sample, platform="x", account_id=f"id-{member}", handle=member)
        AccountScore.objects.create(run=run, account=account, group=group, score=0.9)
        if tlp == "GREEN":  # confirmed into the GREEN campaign, so a GREEN audience may be told its accounts
            Platform.objects.get_or_create(code="x")
            group_review(group=group, status="confirmed", note="", reviewer=None)
            group_attach_to_campaign(group=group, campaign=green)
    return {"owner": owner, "other": other, "today": today}


CANARIES = {
    level: [
        canary(level, what)
        for what in (
            "Actor",
            "Operation",
            "Election",
            "Source",
            "Campaign",
            "Summary",
            "Claimant",
            "Takedown",
            "Account",
            "Url",
            "Narrative",
            "Domain",
            "Member",
        )
    ]
    for level in (AMBER, RED, STRICT)
}
VISIBLE = [
    "VisibleGreenCampaign",
    "VisiblePlainCampaign",
    "VisibleGreenNarrative",
    "VisibleGreenClaimant",
    "visible-green-domain",
]
VISIBLE_IN_STIX = [
    "VisibleGreenCampaign",
    "VisiblePlainCampaign",
    "visible-green-domain",
    "Visible actor",
    "VisibleGreenNarrative",
    "VisibleGreenClaimant",
    "VisibleNamedClaimant",
    "VisibleMember",
]
