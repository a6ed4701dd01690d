"""In Debian's Chromium, on the demo data, with a real Celery worker doing the work in the background: dashboard ->
a new sample -> upload (progress within 2 s, the page usable meanwhile) -> run -> group -> confirm -> campaign ->
report builder, at 1440x900; then every page of the walk again at 1280x800.

On every page: nothing overflows sideways (the document is exactly as wide as the window), no form field holds a
JSON literal, and the server answered the page in under a second (its Server-Timing header).
"""

import os
import re
import signal
import subprocess
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import Error as PlaywrightError

from campaigns.models import Campaign
from detection.models import CoordinatedGroup, ImportStatus, RunStatus, Sample, SampleImport, ScoringRun
from reports.models import Report
from tests.browser.helpers import PASSWORD, log_in
from tests.conftest import REPO, celery_worker, require

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
QUEUE = f"walk-{os.getpid()}"
SERVER_SECONDS = 1.0
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.parentElement && e.getBoundingClientRect().width > e.parentElement.clientWidth + 1
        && e.getBoundingClientRect().right > window.innerWidth)
    .slice(0, 5).map(e => `${e.tagName}#${e.id}.${String(e.className).slice(0, 60)}`
        + ` ${Math.round(e.getBoundingClientRect().width)} in ${e.parentElement.tagName}`
        + `.${String(e.parentElement.className).slice(0, 60)} ${e.parentElement.clientWidth}`)"""
JSON_IN_FIELDS = """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
    .map(f => [f.name, f.value]).filter(([name, value]) => /^\\s*(\\[|\\{\\s*"|\\{\\s*\\})/.test(value))"""


@pytest.fixture
def worker(redis_url, tmp_path):
    """A real worker on a queue of this test's own, where every task the walk sends is routed."""
    from tracker.celery import app

    require(connection.vendor == "postgresql", "the walk's worker shares the test's PostgreSQL database")
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_QUEUE": QUEUE,  # the worker's own sends (prepare -> shards -> reduce) stay on it too
    }
    saved = app.conf.task_routes, app.conf.task_always_eager
    app.conf.task_routes = {"*": {"queue": QUEUE}}
    app.conf.task_always_eager = False
    reroute(app)
    log = tmp_path / "worker.log"
    process = celery_worker(env, "walk", log, queues=QUEUE)
    yield process
    app.conf.task_routes, app.conf.task_always_eager = saved
    reroute(app)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def reroute(app) -> None:
    """Make task_routes take effect in this process: Celery reads them once, into its router's table."""
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


class Walk:
    """The browser page, and the checks every page of the walk must pass."""

    def __init__(self, page, base: str, artefacts, width: int, height: int):
        self.page, self.base, self.artefacts = page, base, artefacts
        self.width, self.height = width, height
        self.visited: list[tuple[str, str]] = []
        self.server_ms: dict[str, float] = {}  # by URL, every GET the page made
        self.page_ms: dict[str, float] = {}  # by page of the walk
        page.set_viewport_size({"width": width, "height": height})
        page.on("response", self._timed)

    def _timed(self, response) -> None:
        if response.request.is_navigation_request() and response.request.method == "GET":
            timing = response.headers.get("server-timing", "")
            if match := re.search(r"dur=([\d.]+)", timing):
                self.server_ms[response.url] = float(match.group(1))

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width == self.width, f"{name}: the page is {width} px wide in a {self.width} px window: " + str(
            page.evaluate(WIDEST)
        )
        assert page.evaluate(JSON_IN_FIELDS) == [], f"{name}: a form field shows JSON"
        self.page_ms[name] = self.server_ms.get(page.url, 0.0)
        self.visited.append((name, page.url))
        page.screenshot(path=str(self.artefacts / f"walk-{self.width}x{self.height}-{name}.png"), full_page=True)


def wait_until(condition, seconds: float, what: str, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.5)
    tail = log.read_text()[-6000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not happen within {seconds} s\n{tail}")


def test_a_researcher_walks_the_workspace_on_the_demo_data(
    browser, live_server, tmp_path, artefacts, worker, monkeypatch
):
    from tracker.celery import app

    app.conf.task_always_eager = True  # the demo loads in this process, as `make run` loads it before serving
    call_command("bootstrap", stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    app.conf.task_always_eager = False
    get_user_model().objects.create_superuser("researcher", "r@example.org", PASSWORD)
    campaign = Campaign.objects.filter(coordinated_groups__isnull=False).first() or Campaign.objects.first()
    upload = tmp_path / "election-week.csv"
    subprocess.run(
        ["python", "benchmarks/generate_sample.py", "--posts", "20000", "--seed", "11", "--out", str(upload)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    base = live_server.url
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    walk = Walk(page, base, artefacts, 1440, 900)
    try:
        log_in(page, base)
        walk.check("dashboard")

        page.goto(f"{base}/admin/detection/sample/add/")
        page.fill("#id_name", "Election-week sample")
        page.select_option("#id_collection_method", index=1)
        page.click("button[name=_continue]")
        sample = wait_until(lambda: Sample.objects.filter(name="Election-week sample").first(), 10, "the sample")
        page.goto(f"{base}/admin/detection/sample/{sample.pk}/change/")
        walk.check("sample")

        page.click("text=Add a file")
        page.wait_for_url(f"**/admin/detection/sampleimport/add/?sample={sample.pk}")
        walk.check("upload")
        page.set_input_files("input[type=file]", str(upload))
        submitted = time.monotonic()
        page.click("button[name=_save]")
        page.wait_for_load_state("load")
        job = SampleImport.objects.filter(sample=sample).latest("pk")
        assert time.monotonic() - submitted < 2, "the upload's page did not come back within 2 s"
        assert job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING), "the upload waited for its import"
        page.goto(f"{base}/admin/detection/sampleimport/{job.pk}/change/")
        assert page.locator(".progress, progress, [role=progressbar]").count() > 0 or "rows" in page.content()
        walk.check("import")
        wait_until(
            lambda: SampleImport.objects.get(pk=job.pk).status in (ImportStatus.DONE, ImportStatus.FAILED),
            180,
            "the import",
            worker_log(tmp_path),
        )
        assert SampleImport.objects.get(pk=job.pk).status == ImportStatus.DONE

        page.goto(f"{base}/admin/detection/sample/{sample.pk}/change/")
        page.click("text=Score this sample")
        walk.check("score-confirmation")
        page.click("text=Yes, score it")
        page.wait_for_url("**/admin/detection/scoringrun/*/change/")
        run = ScoringRun.objects.filter(sample=sample).latest("pk")
        walk.check("run")
        wait_until(
            lambda: ScoringRun.objects.get(pk=run.pk).status in (RunStatus.DONE, RunStatus.FAILED),
            240,
            "the run",
            worker_log(tmp_path),
        )
        assert ScoringRun.objects.get(pk=run.pk).status == RunStatus.DONE
        # The page reloads itself every 2 s while the run goes on: one of its own reloads may cut this one short.
        for attempt in range(3):
            try:
                page.reload()
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
                page.wait_for_timeout(500)
        walk.check("run-done")

        group = CoordinatedGroup.objects.filter(run=run).order_by("-score").first()
        assert group is not None, "the generated sample's planted group was not found"
        page.goto(f"{base}/admin/detection/coordinatedgroup/{group.pk}/change/")
        page.wait_for_selector("#network canvas")
        walk.check("group")
        page.select_option("#review-form select[name=status]", "confirmed")
        page.fill("#review-form textarea[name=note]", "Same links within seconds, accounts created the same week.")
        page.click("#review-form button[type=submit]")
        page.wait_for_selector("#attach-form")
        page.select_option("#attach-form select[name=campaign]", str(campaign.pk))
        page.click("#attach-form button[type=submit]")
        page.wait_for_selector("#group-campaign")
        page.click("#group-campaign")
        page.wait_for_url(f"**/admin/campaigns/campaign/{campaign.pk}/change/")
        walk.check("campaign")

        page.goto(f"{base}/admin/reports/report/add/")
        walk.check("report-builder")
        page.fill("#id_period_start", "2024-01-01")
        page.fill("#id_period_end", "2024-01-13")
        page.click("button[name=_preview]")
        walk.check("report-confirmation")
        reports_before = Report.objects.count()
        page.click("button[name=_confirm]")
        page.wait_for_url("**/admin/reports/report/*/change/")
        walk.check("report")
        assert Report.objects.count() == reports_before + 1

        smaller = Walk(page, base, artefacts, 1280, 800)
        for name, url in walk.visited:
            page.goto(url)
            smaller.check(name)
    finally:
        context.close()
    assert dialogs == [], f"hostile text ran as script: {dialogs}"
    # A page's first answer in a process includes compiling its templates, once: each page is judged by the
    # quicker of its two visits (both are printed).
    print(
        "server time per page, 1440x900 and 1280x800 (ms):",
        {n: (walk.page_ms[n], smaller.page_ms[n]) for n in walk.page_ms},
    )
    slow = {n: ms for n in walk.page_ms if (ms := min(walk.page_ms[n], smaller.page_ms[n])) >= SERVER_SECONDS * 1000}
    assert not slow, f"pages the server took a second or more to answer, at best: {slow}"


def worker_log(tmp_path):
    return tmp_path / "worker.log"
