import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Run arrays are stored in parts: one value of a million posts' arrays is too large for PostgreSQL."""

    dependencies = [("detection", "0003_scoring_runs")]

    operations = [
        migrations.DeleteModel(name="RunArrays"),
        migrations.CreateModel(
            name="RunArrays",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("part", models.PositiveIntegerField()),
                ("data", models.BinaryField()),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="array_parts",
                        to="detection.scoringrun",
                    ),
                ),
            ],
            options={
                "ordering": ["run", "part"],
                "constraints": [models.UniqueConstraint(fields=("run", "part"), name="run_arrays_part_unique")],
            },
        ),
    ]
