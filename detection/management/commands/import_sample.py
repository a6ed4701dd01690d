import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from detection.engine.readers import FORMATS
from detection.ingest import jobs, services
from detection.models import ImportStatus, Sample, SampleImport
from partners.markings import Tlp


class Command(BaseCommand):
    help = (
        "Import a sample file (canonical CSV/JSONL, X/Twitter IO archive, CooRTweet, coordination-network-toolkit; "
        "gzip read transparently) into a sample, creating the sample if needed. Rerunning resumes or changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, nargs="?")
        parser.add_argument("--name", help="the sample's name (created when new)")
        parser.add_argument("--resume", type=int, metavar="IMPORT_ID", help="resume an interrupted import job")
        parser.add_argument("--tlp", choices=Tlp.values, default=Tlp.AMBER, help="marking of a new sample")
        parser.add_argument("--format", choices=sorted(FORMATS), help="detected from the header when left out")
        parser.add_argument("--platform", default="", help="platform for layouts that do not carry one")
        parser.add_argument("--description", default="")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        if options["resume"]:
            job = SampleImport.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No import job {options['resume']}")
            path = Path(job.file.path if job.file else job.source_path)
        else:
            path = options["path"]
            if path is None or not options["name"]:
                raise CommandError("Give a FILE and --name, or --resume IMPORT_ID.")
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            sample = Sample.objects.filter(owner=None, name=options["name"]).first() or services.sample_create(
                name=options["name"], tlp=options["tlp"], description=options["description"]
            )
            job = services.sample_import_create(
                sample=sample, source_path=path, format=options["format"] or "", platform=options["platform"]
            )
        sample = job.sample
        self.stderr.write(f"Import job {job.pk} (resume it with --resume {job.pk} if it is interrupted)")
        bar = tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=path.name,
            disable=options["no_progress"],
            file=self.stderr._out,
        )

        def progress(bytes_done: int, rows_done: int) -> None:
            bar.update(bytes_done - bar.n)
            bar.set_postfix(rows=f"{rows_done:,}")

        started = time.perf_counter()
        job = jobs.sample_import_run(import_id=job.pk, progress=progress)
        seconds = time.perf_counter() - started
        bar.close()
        summary = (
            f"{job.rows_done:,} rows read: {job.inserted:,} inserted, {job.updated:,} updated, "
            f"{job.unchanged:,} unchanged, {job.rejected:,} rejected ({job.duplicates:,} in-file duplicates merged); "
            f"sample '{sample.name}' now holds {Sample.objects.get(pk=sample.pk).posts_count:,} posts; "
            f"{seconds:.1f} s ({job.rows_done / max(seconds, 1e-9):,.0f} rows/s)"
        )
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"The file was refused: {job.error}\n{summary}")
        self.stdout.write(summary)
        for row in job.rejected_rows.all()[:20]:
            self.stderr.write(f"line {row.line}: {row.field or 'row'}: {row.reason}")
        if job.rejected > 20:
            self.stderr.write(f"... and {job.rejected - 20:,} more; download them from the import's admin page")
