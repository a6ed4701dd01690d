"""A sample's posts in the engine's post order: (platform, post id) compared by code point, as Python compares
strings.

A prepare part reads one range of that order (``selectors.sample_part``). The unique constraint's index orders
by the database's default collation, which on PostgreSQL need not be code-point order, so each part scanned the
whole sample and sorted it. With this index a part is an index range scan, already in order. SQLite's default
BINARY collation orders by code point already, and the unique constraint's index serves there.

Built CONCURRENTLY (outside a transaction), so that imports keep writing to a large table while it builds.
"""

from django.db import migrations

INDEX = "post_sample_code_point_order"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
            'ON detection_post (sample_id, platform COLLATE "C", post_id COLLATE "C")'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("detection", "0016_shard_edges_in_files")]

    operations = [migrations.RunPython(create, drop)]
