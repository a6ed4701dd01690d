"""The sample that holds each post and account is required, and unique with the platform's id (see 0007)."""

import django.db.models.deletion
from django.db import migrations, models

HELD_BY_HELP = (
    "The sample that holds it. Each sample keeps its own posts and accounts, as that sample saw them: an upload "
    "only ever reads, merges into or counts records of its own sample, whoever else holds the same ids."
)


def _held_by(related_name: str, null: bool):
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        help_text=HELD_BY_HELP,
        null=null,
        on_delete=django.db.models.deletion.CASCADE,
        related_name=related_name,
        to="detection.sample",
    )


class Migration(migrations.Migration):
    """Apart from 0007, whose data moves must commit first: PostgreSQL alters no table with deferred checks pending."""

    dependencies = [("detection", "0007_records_held_per_sample")]

    operations = [
        migrations.AlterField(model_name="post", name="sample", field=_held_by("held_posts", null=False)),
        migrations.AlterField(model_name="socialaccount", name="sample", field=_held_by("held_accounts", null=False)),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(
                fields=("sample", "platform", "post_id"), name="post_unique_sample_platform_id"
            ),
        ),
        migrations.AddConstraint(
            model_name="socialaccount",
            constraint=models.UniqueConstraint(
                fields=("sample", "platform", "account_id"), name="social_account_unique_sample_platform_id"
            ),
        ),
        migrations.AlterField(model_name="sample", name="name", field=models.CharField(max_length=200)),
        migrations.AddConstraint(
            model_name="sample",
            constraint=models.UniqueConstraint(
                condition=models.Q(("owner__isnull", False)),
                fields=("owner", "name"),
                name="sample_unique_name_per_owner",
            ),
        ),
        migrations.AddConstraint(
            model_name="sample",
            constraint=models.UniqueConstraint(
                condition=models.Q(("owner__isnull", True)), fields=("name",), name="sample_unique_house_name"
            ),
        ),
    ]
