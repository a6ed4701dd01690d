import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from campaigns.demo import demo_catalogue_load
from campaigns.models import Technique
from detection.demo import demo_groups_triage, demo_sample_load
from reports.services import demo_report_build


class Command(BaseCommand):
    help = (
        "First-run set-up for `make run`: reference frameworks, the demo catalogue and an admin user. "
        "Run again, it finds everything in place and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="skip the demo catalogue")

    def handle(self, *args, **options):
        if not Technique.objects.exists():
            call_command("load_frameworks", stdout=self.stdout)
            shared = settings.SHARED_DATA_DIR
            disarm = shared / "disarm" / "disarm_red_techniques.csv"
            meta = shared / "meta-ooc" / "Online_Operations_Killchain-TTPs.csv"
            if disarm.exists() and meta.exists():
                call_command(
                    "load_frameworks", "--skip-misp", "--disarm", disarm, "--meta-kill-chain", meta, stdout=self.stdout
                )
        if not options["no_demo"]:
            created = demo_catalogue_load()
            self.stdout.write("Demo catalogue loaded." if created else "Demo catalogue already present.")
            sample = demo_sample_load()
            self.stdout.write(
                f"Demo sample imported and scored: {sample.name}" if sample else "Demo sample already present."
            )
            group = demo_groups_triage()
            if group is not None:
                self.stdout.write(f"Demo group {group.number} confirmed into the campaign '{group.campaign}'.")
            report = demo_report_build()
            if report is not None:
                self.stdout.write(f"Demo threat report built: {report.title} (admin: Threat reports).")
        user_model = get_user_model()
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(18)
            user_model.objects.create_superuser("admin", "admin@localhost", password)
            self.stdout.write(self.style.SUCCESS(f"Admin user 'admin' created with password: {password}"))
            self.stdout.write("This password is shown once. Change it with: manage.py changepassword admin")
        else:
            self.stdout.write("An admin user exists (reset a password with: manage.py changepassword admin).")
