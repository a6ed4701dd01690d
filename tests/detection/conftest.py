import pytest


@pytest.fixture(autouse=True)
def run_files_in_tmp(settings, tmp_path):
    """Scoring runs write their working files under the test's own folder, never under var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
