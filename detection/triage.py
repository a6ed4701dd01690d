"""The researcher's triage of coordinated groups: review, DISARM technique suggestions, and attaching a confirmed
group to a campaign through the catalogue's own services."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaigns import selectors as campaign_selectors
from campaigns import services as campaign_services
from campaigns.models import Campaign, Technique
from campaigns.vocabularies import Framework

from .models import CoordinatedGroup, GroupStatus

# DISARM techniques suggested by each behaviour seen in a group (v1.6 ids; ids absent from the loaded
# framework are skipped).
BEHAVIOUR_TECHNIQUES = {
    "co-reshare": ("T0049.003", "T0049"),
    "co-link": ("T0049.007",),
    "co-domain": ("T0049.007",),
    "co-hashtag": ("T0049.002", "T0015"),
    "co-mention": ("T0049.005",),
    "co-reply": ("T0049.005",),
    "same-text": ("T0084", "T0049.008"),
    "similar-text": ("T0084", "T0049.008"),
    "same-media": ("T0084",),
}


def group_review(*, group: CoordinatedGroup, status: str, note: str, reviewer) -> CoordinatedGroup:
    """Confirm or reject a group, with the researcher's note."""
    if status not in (GroupStatus.CONFIRMED, GroupStatus.REJECTED, GroupStatus.NEW):
        raise ValueError(f"unknown review status {status!r}")
    group.status = status
    group.review_note = note
    group.reviewed_by = reviewer
    group.reviewed_at = timezone.now()
    group.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    return group


def technique_suggestions(*, group: CoordinatedGroup) -> list[Technique]:
    """DISARM techniques the group's behaviours point to, for the researcher to accept."""
    ids = []
    for behaviour in group.behaviours:
        ids.extend(i for i in BEHAVIOUR_TECHNIQUES.get(behaviour, ()) if i not in ids)
    found = campaign_selectors.techniques_by_external_id(framework=Framework.DISARM, external_ids=ids)
    return [found[i] for i in ids if i in found]


@transaction.atomic
def group_attach_to_campaign(
    *, group: CoordinatedGroup, campaign: Campaign, techniques: list[Technique] = (), reviewer=None
) -> int:
    """Tie a confirmed group to a campaign: its accounts become the campaign's assets, accepted techniques
    become technique uses. Returns the number of assets created; attaching twice creates nothing new."""
    if group.status != GroupStatus.CONFIRMED:
        raise ValueError("Confirm the group before attaching it to a campaign.")
    group.campaign = campaign
    group.save(update_fields=["campaign"])
    accounts = [
        campaign_services.AccountAsset(
            platform=member.account.platform,
            identifier=member.account.account_id,
            notes=f"Coordinated group {group.number} of scoring run {group.run_id} "
            f"(score {member.score:.2f}). Handle: {member.account.handle}",
        )
        for member in group.members.select_related("account")
    ]
    created = campaign_services.account_assets_ensure(campaign=campaign, accounts=accounts, tlp=group.run.sample.tlp)
    campaign_services.technique_uses_ensure(
        campaign=campaign,
        techniques=techniques,
        evidence=f"Coordinated group {group.number} of scoring run {group.run_id}: {', '.join(group.behaviours)}.",
        observed_on=group.first_activity.date() if group.first_activity else None,
    )
    return created
