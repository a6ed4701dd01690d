"""Posts and accounts scoped by owner: one organisation's upload never reads or merges into another's records.

Before this, a post was stored once per (platform, post id) whatever sample and owner it came from. Here each
post and account moves into the scope of the samples that hold it (the owner organisation's id, 0 for the
house). A record held by samples of several owners stays with the first of them (the house first) and is
copied, with the values it has now, into each other owner's scope; that owner's sample links, scores, edges,
leaders and evidence are pointed at its own copy. Records no sample holds stay with the house.
"""

from collections import defaultdict

from django.conf import settings
from django.db import migrations, models

CHUNK = 900


def _copy(model, row, **changes):
    values = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
    values.update(changes)
    return model.objects.create(**values)


def split_records_by_owner(apps, schema_editor):
    Sample = apps.get_model("detection", "Sample")
    SamplePost = apps.get_model("detection", "SamplePost")
    Post = apps.get_model("detection", "Post")
    SocialAccount = apps.get_model("detection", "SocialAccount")
    AccountScore = apps.get_model("detection", "AccountScore")
    CoordinationEdge = apps.get_model("detection", "CoordinationEdge")
    CoordinatedGroup = apps.get_model("detection", "CoordinatedGroup")
    EdgeEvidence = apps.get_model("detection", "EdgeEvidence")

    samples_of = defaultdict(list)
    for pk, owner_id in Sample.objects.values_list("pk", "owner_id"):
        samples_of[owner_id or 0].append(pk)
    house_posts = SamplePost.objects.filter(sample_id__in=samples_of[0]).values("post_id")

    post_copies = {}  # (post pk, scope) -> the copy's pk
    for scope in sorted(s for s in samples_of if s):
        held = Post.objects.filter(pk__in=SamplePost.objects.filter(sample_id__in=samples_of[scope]).values("post_id"))
        held.filter(owner_scope=0).exclude(pk__in=house_posts).update(owner_scope=scope)
        for post in held.exclude(owner_scope=scope).iterator(chunk_size=CHUNK):
            post_copies[(post.pk, scope)] = _copy(Post, post, owner_scope=scope).pk
    for (old, scope), new in post_copies.items():
        samples = samples_of[scope]
        links = SamplePost.objects.filter(sample_id__in=samples, post_id=old)
        linked = list(links.values_list("sample_id", flat=True))
        links.delete()
        SamplePost.objects.bulk_create([SamplePost(sample_id=s, post_id=new) for s in linked])
        EdgeEvidence.objects.filter(edge__run__sample_id__in=samples, post_source_id=old).update(post_source_id=new)
        EdgeEvidence.objects.filter(edge__run__sample_id__in=samples, post_target_id=old).update(post_target_id=new)

    scopes_of_account = defaultdict(set)
    for account_id, scope in Post.objects.values_list("account_id", "owner_scope").distinct().iterator():
        scopes_of_account[account_id].add(scope)
    for account_id, scopes in scopes_of_account.items():
        first, *others = sorted(scopes)
        account = SocialAccount.objects.filter(pk=account_id).first()
        if account is None:
            continue
        if account.owner_scope != first:
            SocialAccount.objects.filter(pk=account_id).update(owner_scope=first)
        for scope in others:
            new = _copy(SocialAccount, account, owner_scope=scope).pk
            samples = samples_of[scope]
            Post.objects.filter(account_id=account_id, owner_scope=scope).update(account_id=new)
            AccountScore.objects.filter(run__sample_id__in=samples, account_id=account_id).update(account_id=new)
            CoordinationEdge.objects.filter(run__sample_id__in=samples, source_id=account_id).update(source_id=new)
            CoordinationEdge.objects.filter(run__sample_id__in=samples, target_id=account_id).update(target_id=new)
            CoordinatedGroup.objects.filter(run__sample_id__in=samples, leader_id=account_id).update(leader_id=new)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0006_sample_links_keyed_by_sample_and_post"),
        ("partners", "0003_audit_action_score"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="post",
            name="post_unique_platform_id",
        ),
        migrations.RemoveConstraint(
            model_name="socialaccount",
            name="social_account_unique_platform_id",
        ),
        migrations.AddField(
            model_name="post",
            name="owner_scope",
            field=models.PositiveBigIntegerField(
                default=0,
                help_text="Whose store holds it: the id of the organisation that owns the samples it was imported into, 0 for the house's researchers. Records never cross scopes: an upload only ever reads, merges into or counts records of its own sample's scope.",
            ),
        ),
        migrations.AddField(
            model_name="socialaccount",
            name="owner_scope",
            field=models.PositiveBigIntegerField(
                default=0,
                help_text="Whose store holds it: the id of the organisation that owns the samples it was imported into, 0 for the house's researchers. Records never cross scopes: an upload only ever reads, merges into or counts records of its own sample's scope.",
            ),
        ),
        migrations.RunPython(split_records_by_owner, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="sample",
            name="name",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(
                fields=("owner_scope", "platform", "post_id"), name="post_unique_scope_platform_id"
            ),
        ),
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
        migrations.AddConstraint(
            model_name="socialaccount",
            constraint=models.UniqueConstraint(
                fields=("owner_scope", "platform", "account_id"), name="social_account_unique_scope_platform_id"
            ),
        ),
    ]
