"""Writes of the partners app: keys and tokens, clearances, shares and the audit log."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Subquery
from django.utils import timezone

from partners.markings import most_restrictive_tlp

from .models import (
    CEILINGS,
    ApiKey,
    AuditAction,
    AuditEvent,
    Clearance,
    Credential,
    Membership,
    Organisation,
    PersonalToken,
    Share,
)
from .selectors import KEY_PREFIX, TOKEN_PREFIX, Principal, key_digest

MAX_SEEN_ADDRESSES = 100
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _new_secret(kind: str) -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"


def _credential_issue(credential: Credential, *, kind: str, audit_user_id: int | None) -> tuple[Credential, str]:
    """Give an unsaved key or token its secret, validate and save it, and log its creation.

    The plaintext is returned once; only its SHA-256 digest is stored."""
    credential.prefix, raw = _new_secret(kind)
    credential.digest = key_digest(raw)
    credential.full_clean()
    credential.save()
    _credential_audit(credential, action=AuditAction.KEY_CREATED, user_id=audit_user_id, detail=credential.name)
    return credential, raw


def api_key_create(
    *,
    organisation: Organisation,
    name: str,
    created_by=None,
    expires_at: datetime | None = None,
    allowed_networks: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """A new organisation key; the plaintext is returned once and only its SHA-256 digest is stored."""
    key = ApiKey(
        organisation=organisation,
        name=name,
        created_by=created_by,
        expires_at=expires_at,
        allowed_networks=list(allowed_networks),
    )
    return _credential_issue(key, kind=KEY_PREFIX, audit_user_id=getattr(created_by, "pk", None))


def personal_token_create(
    *,
    user,
    organisation: Organisation | None,
    name: str,
    created_by=None,
    expires_at: datetime | None = None,
    allowed_networks: Iterable[str] = (),
) -> tuple[PersonalToken, str]:
    """A named person's token (partners need an active membership of `organisation`); plaintext once."""
    member = Membership.objects.filter(user=user, organisation=organisation, is_active=True)
    if not user.is_staff and (organisation is None or not member.exists()):
        raise ValueError("A partner's personal token needs an active membership of its organisation.")
    token = PersonalToken(
        user=user,
        organisation=organisation,
        name=name,
        created_by=created_by,
        expires_at=expires_at,
        allowed_networks=list(allowed_networks),
    )
    return _credential_issue(token, kind=TOKEN_PREFIX, audit_user_id=user.pk)


def credential_revoke(*, credential: Credential, revoked_by=None) -> None:
    """Revoke a key or token; the next request made with it is refused."""
    if credential.revoked_at is not None:
        return
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    _credential_audit(
        credential, action=AuditAction.KEY_REVOKED, user_id=getattr(revoked_by, "pk", None), detail=credential.name
    )


def address_allowed(*, credential: Credential, address: str | None) -> bool:
    """Whether the key may be used from this address (always, when it has no allow-list)."""
    if not credential.allowed_networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in credential.allowed_networks)


def credential_used(*, credential: Credential, address: str | None) -> None:
    """Record a use: last use (to the minute), and an audit event the first time an address is seen."""
    now = timezone.now()
    fields: dict = {}
    if address and address not in credential.seen_addresses:
        seen = [*credential.seen_addresses, address][-MAX_SEEN_ADDRESSES:]
        fields["seen_addresses"] = seen
        credential.seen_addresses = seen
        _credential_audit(credential, action=AuditAction.KEY_NEW_ADDRESS, address=address)
    if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_RESOLUTION:
        fields["last_used_at"] = now
    if address and address != credential.last_used_from:
        fields["last_used_from"] = address
    if fields:
        type(credential).objects.filter(pk=credential.pk).update(**fields)


def clearance_set(*, organisation: Organisation, ceiling: str, granted_by=None, note: str = "") -> Clearance:
    """Set an organisation's TLP ceiling (CLEAR, GREEN or AMBER)."""
    if ceiling not in CEILINGS:
        raise ValueError("A clearance is CLEAR, GREEN or AMBER; AMBER+STRICT and RED are granted per object.")
    clearance, _ = Clearance.objects.update_or_create(
        organisation=organisation, defaults={"ceiling": ceiling, "granted_by": granted_by, "note": note}
    )
    return clearance


def share_create(*, target: Model, organisation: Organisation | None = None, user=None, created_by=None) -> Share:
    """Name an organisation (AMBER+STRICT and below) or a person (RED) as a recipient of one object."""
    if (organisation is None) == (user is None):
        raise ValueError("Name either an organisation or a person.")
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=True)
    share, _ = Share.objects.get_or_create(
        content_type=content_type,
        object_id=target.pk,
        organisation=organisation,
        user=user,
        defaults={"created_by": created_by},
    )
    return share


def share_delete(*, target: Model, organisation: Organisation | None = None, user=None) -> None:
    """Stop sharing one object with a recipient."""
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=True)
    Share.objects.filter(content_type=content_type, object_id=target.pk, organisation=organisation, user=user).delete()


def audit_record(
    *,
    action: str,
    organisation_id: int | None = None,
    user_id: int | None = None,
    credential: str = "",
    address: str | None = None,
    path: str = "",
    object_type: str = "",
    object_ids: Iterable = (),
    tlp: str = "",
    detail: str = "",
) -> AuditEvent:
    """Append one entry to the audit log."""
    return AuditEvent.objects.create(
        action=action,
        organisation_id=organisation_id,
        user_id=user_id,
        credential=credential,
        address=address or None,
        path=path[:1000],
        object_type=object_type,
        object_ids=list(object_ids),
        tlp=tlp,
        detail=detail,
    )


def key_refusal_record(*, credential: Credential, address: str | None, path: str, detail: str) -> None:
    """Count a refused key: one entry per key, address, reason and minute, whose count each refusal raises."""
    this_minute = AuditEvent.objects.filter(
        action=AuditAction.KEY_REFUSED,
        credential=credential.prefix,
        address=address or None,
        detail=detail,
        at__gte=timezone.now().replace(second=0, microsecond=0),
    )
    if AuditEvent.objects.filter(pk=Subquery(this_minute.order_by("pk").values("pk")[:1])).refusals_add():
        return
    _credential_audit(credential, action=AuditAction.KEY_REFUSED, address=address, path=path, detail=detail)


def _credential_audit(credential: Credential, **entry) -> AuditEvent:
    """Append one entry about a key or token: its organisation and prefix, and its person unless `user_id` is given."""
    entry.setdefault("user_id", getattr(credential, "user_id", None))
    return audit_record(organisation_id=credential.organisation_id, credential=credential.prefix, **entry)


def audit_by(principal: Principal, **entry) -> AuditEvent:
    """Append one entry for what this principal did: its organisation, person and credential."""
    return audit_record(
        organisation_id=principal.organisation_id, user_id=principal.user_id, credential=principal.credential, **entry
    )


def audit_reads(*, principal: Principal, objects: Iterable, path: str, address: str | None, export: bool = False):
    """Log a partner's read of the objects marked AMBER or above among these (one entry per read)."""
    if not principal.is_partner:
        return None
    sensitive = [o for o in objects if getattr(o, "tlp", "") in ("AMBER", "AMBER+STRICT", "RED")]
    if not sensitive:
        return None
    types = sorted({o._meta.label_lower for o in sensitive})
    return audit_by(
        principal,
        action=AuditAction.EXPORT if export else AuditAction.READ,
        address=address,
        path=path,
        object_type=types[0] if len(types) == 1 else "mixed",
        object_ids=[o.pk if len(types) == 1 else f"{o._meta.label_lower}:{o.pk}" for o in sensitive],
        tlp=most_restrictive_tlp(o.tlp for o in sensitive),
    )
