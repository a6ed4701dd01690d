"""A run's working files live in shared storage, split by shard and never pickled: the ledger records each
file's name, SHA-256 and size, and the pickled arrays in the database go."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("detection", "0009_run_leases")]

    operations = [
        migrations.AddField(
            model_name="scoringrun",
            name="files",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The working files prepare wrote to storage: name, SHA-256 and size of each",
            ),
        ),
        migrations.DeleteModel(name="RunArrays"),
    ]
