"""Train a new version of the classifier of groups now, on the seeds and every verdict."""

from django.core.management.base import BaseCommand

from detection.learning import services


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        model = services.classifier_train()
        self.stdout.write(
            f"v{model.version}: precision {model.mean_precision:.3f}, recall {model.mean_recall:.3f} "
            f"({model.seeds} seeds, {model.verdicts} verdicts). {model.decision}"
        )
