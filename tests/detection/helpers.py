"""Samples for the detection tests: generated with planted groups, imported through the real import path."""

from pathlib import Path

from detection.engine.synthetic import generate, write_sample
from detection.ingest import jobs, services
from detection.models import Sample


def generated_sample(
    tmp_path: Path, n_posts: int, seed: int = 7, name: str = "generated", **kwargs
) -> tuple[Sample, set]:
    """Import a generated sample (posts and accounts files); returns it and the planted account ids."""
    data = generate(n_posts, seed=seed, **kwargs)
    sample = services.sample_create(name=name, tlp="GREEN")
    for path in write_sample(data, tmp_path / f"{name}.csv")[:2]:
        job = services.sample_import_create(sample=sample, source_path=path)
        job = jobs.sample_import_run(import_id=job.pk)
        assert job.status == "done" and job.rejected == 0, job.error
    return sample, data.planted
