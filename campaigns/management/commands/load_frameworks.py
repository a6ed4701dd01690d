from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns import frameworks, services
from campaigns.vocabularies import Framework


class Command(BaseCommand):
    help = (
        "Load DISARM Red (from the pymispgalaxies package by default, or a CSV/STIX file) and, when a file is "
        "named, Meta's Online Operations Kill Chain. Re-loading changes nothing; dropped ids are kept as retired."
    )

    def add_arguments(self, parser):
        parser.add_argument("--disarm", type=Path, help="DISARM techniques CSV or STIX 2.1 JSON bundle")
        parser.add_argument("--disarm-version", default="1.6", help="version of the --disarm file (default 1.6)")
        parser.add_argument("--meta-kill-chain", type=Path, help="Meta's Online_Operations_Killchain-TTPs.csv")
        parser.add_argument("--skip-misp", action="store_true", help="do not load MISP's DISARM copy")

    def handle(self, *args, **options):
        releases = []
        try:
            if not options["skip_misp"]:
                releases.append(frameworks.disarm_from_misp_galaxy())
            if options["disarm"]:
                releases.append(
                    frameworks.release_from_file(options["disarm"], Framework.DISARM, options["disarm_version"])
                )
            if options["meta_kill_chain"]:
                releases.append(frameworks.meta_kill_chain_from_csv(options["meta_kill_chain"]))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot read the framework: {exc}") from exc
        for release in releases:
            result = services.technique_framework_load(release=release)
            self.stdout.write(
                f"{release.framework} {release.version}: {len(release.techniques)} read, {result.created} created, "
                f"{result.updated} updated, {result.unchanged} unchanged, {result.retired} retired"
            )
