from django.db import migrations

UNION = """
CREATE OR REPLACE FUNCTION detection_jsonb_union(old jsonb, new jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT old || COALESCE((
        SELECT jsonb_agg(e ORDER BY i) FROM (
            SELECT DISTINCT ON (e) e, i
            FROM jsonb_array_elements(new) WITH ORDINALITY AS x(e, i)
            WHERE NOT old @> jsonb_build_array(e)
            ORDER BY e, i
        ) AS extra
    ), '[]'::jsonb)
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS detection_jsonb_union(jsonb, jsonb)")


class Migration(migrations.Migration):
    """The order-preserving list union that PostgreSQL imports use to merge a post seen again."""

    dependencies = [("detection", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
