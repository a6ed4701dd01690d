from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns import services
from partners.markings import Tlp


class Command(BaseCommand):
    help = "Import a DFRLab FIAT attribution CSV: one claim, source and (where given) takedown per row."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--tlp", default=Tlp.CLEAR, choices=Tlp.values)

    def handle(self, *args, **options):
        try:
            result = services.fiat_import(path=options["path"], tlp=options["tlp"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for row in result.rejected:
            self.stderr.write(f"line {row.line}: {row.field or 'row'}: {row.reason}")
        self.stdout.write(
            f"{result.rows_read} rows read: {result.claims_created} claims created, {result.claims_unchanged} "
            f"already present, {result.takedowns_created} takedowns, {len(result.rejected)} rejected"
        )
        if result.rejected:
            raise CommandError(f"{len(result.rejected)} rows rejected (listed above); the other rows were stored.")
