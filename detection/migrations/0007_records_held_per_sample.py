"""Each sample holds its own posts and accounts: one upload never reads, counts or merges into another's records.

Before this, a post was stored once per (platform, post id) whatever samples and owners it came from, and an
upload merged into it. Here each post and account moves to the sample that holds it. A record held by several
samples stays with the first of them and is copied, with the values it has now, into each other sample; that
sample's link, scores, edges, group leaders and evidence are pointed at its own copy. Records that no sample
holds were unreachable and are dropped.
"""

from collections import defaultdict

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

HELD_BY_HELP = (
    "The sample that holds it. Each sample keeps its own posts and accounts, as that sample saw them: an upload "
    "only ever reads, merges into or counts records of its own sample, whoever else holds the same ids."
)


def _copy(model, row, **changes):
    values = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
    values.update(changes)
    return model.objects.create(**values).pk


def split_records_by_sample(apps, schema_editor):
    Sample = apps.get_model("detection", "Sample")
    SamplePost = apps.get_model("detection", "SamplePost")
    Post = apps.get_model("detection", "Post")
    SocialAccount = apps.get_model("detection", "SocialAccount")
    AccountScore = apps.get_model("detection", "AccountScore")
    CoordinationEdge = apps.get_model("detection", "CoordinationEdge")
    CoordinatedGroup = apps.get_model("detection", "CoordinatedGroup")
    EdgeEvidence = apps.get_model("detection", "EdgeEvidence")

    for sample_id in Sample.objects.order_by("pk").values_list("pk", flat=True):
        held = Post.objects.filter(pk__in=SamplePost.objects.filter(sample_id=sample_id).values("post_id"))
        held.filter(sample__isnull=True).update(sample_id=sample_id)
        for post in list(held.exclude(sample_id=sample_id)):
            new = _copy(Post, post, sample_id=sample_id)
            SamplePost.objects.filter(sample_id=sample_id, post_id=post.pk).delete()
            SamplePost.objects.create(sample_id=sample_id, post_id=new)
            evidence = EdgeEvidence.objects.filter(edge__run__sample_id=sample_id)
            evidence.filter(post_source_id=post.pk).update(post_source_id=new)
            evidence.filter(post_target_id=post.pk).update(post_target_id=new)
    Post.objects.filter(sample__isnull=True).delete()

    samples_of_account = defaultdict(set)
    for account_id, sample_id in Post.objects.values_list("account_id", "sample_id").distinct().iterator():
        samples_of_account[account_id].add(sample_id)
    for account_id, sample_ids in samples_of_account.items():
        first, *others = sorted(sample_ids)
        SocialAccount.objects.filter(pk=account_id).update(sample_id=first)
        account = SocialAccount.objects.get(pk=account_id)
        for sample_id in others:
            new = _copy(SocialAccount, account, sample_id=sample_id)
            Post.objects.filter(account_id=account_id, sample_id=sample_id).update(account_id=new)
            in_sample = {"run__sample_id": sample_id}
            AccountScore.objects.filter(account_id=account_id, **in_sample).update(account_id=new)
            CoordinationEdge.objects.filter(source_id=account_id, **in_sample).update(source_id=new)
            CoordinationEdge.objects.filter(target_id=account_id, **in_sample).update(target_id=new)
            CoordinatedGroup.objects.filter(leader_id=account_id, **in_sample).update(leader_id=new)
    SocialAccount.objects.filter(sample__isnull=True).delete()


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
    dependencies = [
        ("detection", "0006_sample_links_keyed_by_sample_and_post"),
        ("partners", "0003_audit_action_score"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="post", name="post_unique_platform_id"),
        migrations.RemoveConstraint(model_name="socialaccount", name="social_account_unique_platform_id"),
        migrations.AddField(model_name="post", name="sample", field=_held_by("held_posts", null=True)),
        migrations.AddField(model_name="socialaccount", name="sample", field=_held_by("held_accounts", null=True)),
        migrations.RunPython(split_records_by_sample, migrations.RunPython.noop, elidable=True),
    ]
