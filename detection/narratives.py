"""Narrative discovery for a scoring run: cluster its flagged groups' posts, suggest the catalogue narrative each
cluster matches, and record the researcher's verdict (accepted links reach the campaigns through the catalogue's
own services)."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from django.db import transaction
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import Narrative

from . import dispatch, selectors
from .engine.narratives import NOISE, NarrativeParams, cluster_texts, match_narratives
from .models import (
    NarrativeCluster,
    NarrativeClusterPost,
    NarrativeDiscovery,
    NarrativeStatus,
    RunStatus,
    ScoringRun,
)


def run_narratives_cluster(*, run_id: int, params: NarrativeParams | None = None) -> list[NarrativeCluster]:
    """Cluster the posts of a finished run's flagged groups into narratives, each with its suggested catalogue
    narrative. Safe to run again: clusters still to review are replaced, reviewed ones are kept, and a new cluster
    whose posts are mostly in a reviewed one is not added again. Returns the clusters added."""
    run = ScoringRun.objects.filter(pk=run_id, status=RunStatus.DONE).first()
    if run is None:
        return []
    params = params or NarrativeParams()
    started = time.perf_counter()
    posts = selectors.run_flagged_posts(run=run)
    clustering = cluster_texts([p["text"] for p in posts], params)
    references = selectors.narrative_reference_texts()
    matches = match_narratives(clustering, references, params)
    suggested = Narrative.objects.in_bulk([m.narrative for m in matches if m.narrative is not None])
    group_of = selectors.run_account_groups(run=run)

    with transaction.atomic():
        ScoringRun.objects.select_for_update().filter(pk=run.pk).first()
        run.narrative_clusters.filter(status=NarrativeStatus.NEW).delete()
        reviewed_posts = set(
            NarrativeClusterPost.objects.filter(cluster__run=run).values_list("post_id", flat=True).iterator()
        )
        number = max(run.narrative_clusters.values_list("number", flat=True), default=0)
        added = []
        for cluster, match in zip(clustering.clusters, matches, strict=True):
            members = [posts[i] for i in cluster.members]
            if sum(p["pk"] in reviewed_posts for p in members) * 2 > len(members):
                continue
            number += 1
            times = [p["created_at"] for p in members]
            languages = Counter(p["lang"] for p in members if p["lang"])
            accounts = {p["account_id"] for p in members}
            row = NarrativeCluster.objects.create(
                run=run,
                number=number,
                top_terms=list(cluster.top_terms),
                size=len(members),
                accounts_count=len(accounts),
                languages=[lang for lang, _ in languages.most_common()],
                cohesion=cluster.cohesion,
                first_post_at=min(times),
                last_post_at=max(times),
                suggested=suggested.get(match.narrative),
                suggested_score=match.score,
            )
            row.groups.set({group_of[a] for a in accounts if a in group_of})
            rank = {posts[i]["pk"]: r for r, i in enumerate(cluster.representatives, start=1)}
            NarrativeClusterPost.objects.bulk_create(
                NarrativeClusterPost(cluster=row, post_id=p["pk"], representative_rank=rank.get(p["pk"]))
                for p in members
            )
            added.append(row)
        NarrativeDiscovery.objects.update_or_create(
            run=run,
            defaults={
                "finished_at": timezone.now(),
                "posts": len(posts),
                "clusters": len(clustering.clusters),
                "noise": int(np.count_nonzero(clustering.labels == NOISE)),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
    return added


@transaction.atomic
def narrative_cluster_accept(*, cluster: NarrativeCluster, reviewer, narrative: Narrative | None = None) -> int:
    """Accept a cluster as a catalogue narrative (the suggested one unless another is given): each campaign its
    groups are attached to is recorded as pushing that narrative, and the narrative gains the cluster's languages.
    Returns how many campaigns newly push it."""
    narrative = narrative or cluster.suggested
    if narrative is None:
        raise ValueError("No narrative suggested: choose the narrative this cluster tells.")
    cluster.status = NarrativeStatus.ACCEPTED
    cluster.narrative = narrative
    cluster.reviewed_by = reviewer
    cluster.reviewed_at = timezone.now()
    cluster.save(update_fields=["status", "narrative", "reviewed_by", "reviewed_at"])
    campaign_services.narrative_languages_ensure(narrative=narrative, languages=cluster.languages)
    campaigns = selectors.narrative_cluster_campaigns(cluster=cluster)
    return campaign_services.campaign_narratives_ensure(narrative=narrative, campaigns=campaigns)


def narrative_cluster_reject(*, cluster: NarrativeCluster, reviewer) -> NarrativeCluster:
    """Reject the suggestion: the cluster is no catalogue narrative (links an earlier acceptance made stay, as
    the catalogue's own records)."""
    cluster.status = NarrativeStatus.REJECTED
    cluster.narrative = None
    cluster.reviewed_by = reviewer
    cluster.reviewed_at = timezone.now()
    cluster.save(update_fields=["status", "narrative", "reviewed_by", "reviewed_at"])
    return cluster


def run_narratives_request(*, run: ScoringRun, requested_by=None) -> None:
    """Ask a worker to cluster a finished run's narratives (again), once the caller's transaction commits."""
    if run.status != RunStatus.DONE:
        raise ValueError("Only a finished run's narratives can be clustered.")
    NarrativeDiscovery.objects.update_or_create(
        run=run, defaults={"requested_at": timezone.now(), "requested_by": requested_by}
    )
    transaction.on_commit(lambda: dispatch.workers().narratives_cluster(run.pk))
