"""The demo sample for `make run`: synthetic posts with planted coordinated groups, imported and scored."""

import tempfile
from pathlib import Path

from detection.engine.synthetic import generate, write_sample

from . import scoring, services
from .models import CollectionMethod, Sample

DEMO_SAMPLE = "Demo: synthetic election-day sample with planted groups"


def demo_sample_load(*, n_posts: int = 20_000, seed: int = 20240113) -> Sample | None:
    """Import and score the demo sample where it is missing. Returns None when it was already there."""
    if Sample.objects.filter(owner=None, name=DEMO_SAMPLE).exists():
        return None
    generated = generate(n_posts, seed=seed, group_size=15, posts_per_member=20)
    sample = services.sample_create(
        name=DEMO_SAMPLE,
        tlp="GREEN",
        collection_method=CollectionMethod.SYNTHETIC,
        description=(
            f"{len(generated.posts):,} generated posts over one day, {len(generated.groups)} planted groups of "
            "accounts acting within 20 seconds of each other, Zipf-popular objects and organic noise."
        ),
    )
    with tempfile.TemporaryDirectory() as folder:
        posts_path, accounts_path = write_sample(generated, Path(folder) / "demo.csv")[:2]
        for path in (posts_path, accounts_path):
            job = services.sample_import_create(sample=sample, source_path=path)
            services.sample_import_run(import_id=job.pk)
    scoring.scoring_run_start(sample=sample, n_shards=2)
    return sample
