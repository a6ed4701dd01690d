from django.core.management.base import BaseCommand, CommandError

from reports import services


class Command(BaseCommand):
    help = (
        "Build (or rebuild in place) a threat report: HTML, PDF, JSON and STIX 2.1. "
        "Example: build_report --scope election:1 --period 2024-01-01..2024-01-13 --audience GREEN"
    )

    def add_arguments(self, parser):
        parser.add_argument("--scope", required=True, help="global, election:<id>, actor:<id> or operation:<id>")
        parser.add_argument("--period", required=True, help="YYYY-MM-DD..YYYY-MM-DD, both days included")
        parser.add_argument("--audience", default="GREEN", help="CLEAR, GREEN, AMBER or org:<slug> (default GREEN)")
        parser.add_argument("--force", action="store_true", help="rebuild even a published report")

    def handle(self, *args, **options):
        try:
            start, end = services.period_parse(options["period"])
            request = services.ReportRequest(options["scope"], str(start), str(end), options["audience"])
            report = services.report_build_from(request, force=options["force"])
        except services.ReportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Report {report.pk}: {report.title} [{report.get_tlp_display()}]"))
        self.stdout.write(f"Audience: {report.audience_label}; status: {report.get_status_display()}")
        if report.build_seconds is not None:
            self.stdout.write(f"Built in {report.build_seconds:.2f} s")
        for field in (report.html_file, report.pdf_file, report.json_file, report.stix_file):
            if field.name:
                self.stdout.write(f"  {field.path}")
