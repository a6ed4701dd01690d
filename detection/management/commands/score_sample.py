import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from detection import scoring
from detection.engine import BEHAVIOURS
from detection.models import RunStatus, Sample, ScoringRun


class Command(BaseCommand):
    help = (
        "Score a sample for coordinated behaviour: the run is split into shards that Celery workers take "
        "(or that run in-process when no broker is configured); shows progress until the run is done."
    )

    def add_arguments(self, parser):
        parser.add_argument("sample", help="the sample's name or id")
        parser.add_argument("--shards", type=int, default=4)
        parser.add_argument(
            "--parts", type=int, default=0, help="prepare parts, each reading its own range of posts (0: the default)"
        )
        parser.add_argument("--window", type=float, help="time window in seconds (default 60)")
        parser.add_argument("--behaviours", help=f"comma-separated, among {', '.join(BEHAVIOURS)}")
        parser.add_argument("--min-weight", type=int, help="the peers' fixed minimum weight instead of significance")
        parser.add_argument("--threshold", type=float, help="score from which an account is flagged (default 0.5)")
        parser.add_argument("--no-wait", action="store_true", help="enqueue and return")

    def handle(self, *args, **options):
        ref = options["sample"]
        sample = Sample.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        sample = sample or Sample.objects.filter(name=ref).first()
        if sample is None:
            raise CommandError(f"No sample named {ref!r}")
        params = {}
        if options["window"] is not None:
            params["window_s"] = options["window"]
        if options["behaviours"]:
            params["behaviours"] = [b.strip() for b in options["behaviours"].split(",") if b.strip()]
        if options["min_weight"] is not None:
            params["min_weight"] = options["min_weight"]
        if options["threshold"] is not None:
            params["flag_threshold"] = options["threshold"]
        try:
            run = scoring.scoring_run_start(
                sample=sample, params=params, n_shards=options["shards"], n_parts=options["parts"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Run {run.pk} of sample '{sample.name}' ({run.n_shards} shards)")
        if options["no_wait"]:
            return
        with tqdm(total=100, unit="%", file=self.stderr._out) as bar:
            while True:
                run = ScoringRun.objects.get(pk=run.pk)
                bar.update(round(run.progress * 100) - bar.n)
                bar.set_postfix(status=run.status, shards=f"{run.shards_done}/{run.n_shards}")
                if run.status in (RunStatus.DONE, RunStatus.FAILED):
                    break
                time.sleep(1)
        if run.status == RunStatus.FAILED:
            raise CommandError(f"Run {run.pk} failed: {run.error}")
        summary = run.summary
        self.stdout.write(
            f"Run {run.pk}: {summary.get('posts', 0):,} posts, {summary.get('accounts', 0):,} accounts, "
            f"{summary.get('groups', 0)} groups, {summary.get('flagged_accounts', 0)} flagged accounts; "
            f"timings {run.timings}"
        )
