"""Reads of the partners app, and the one function that decides what a principal may see.

`visible_to(principal, queryset)` is the only gate between partner-facing reads (API lists and details,
filters, search, related fields, STIX exports, TAXII feeds, audience reports) and the database. A reader is a
`Principal`: an organisation, a named person, a researcher, or (for what is made for everyone holding a
clearance, such as a threat report) `principal_for_audience(ceiling)`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from partners.markings import TLP_RESTRICTIVENESS, Tlp, most_restrictive_tlp

from .models import CEILINGS, ApiKey, Clearance, Membership, Organisation, PersonalToken, Share


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    ORGANISATION = "organisation"  # an organisation's API key
    PERSON = "person"  # a named person's token, within their organisation
    RESEARCHER = "researcher"  # staff: sees everything
    AUDIENCE = "audience"  # everyone holding a clearance: what is marked within it, nothing by ownership or name


@dataclass(frozen=True)
class Principal:
    """Who is reading: what visibility is decided from. Build one with the `principal_for_*` helpers."""

    kind: PrincipalKind = PrincipalKind.ANONYMOUS
    organisation_id: int | None = None
    user_id: int | None = None
    ceiling: str = Tlp.CLEAR
    credential: str = ""  # the key or token prefix, for the audit log

    @property
    def is_authenticated(self) -> bool:
        return self.kind != PrincipalKind.ANONYMOUS

    @property
    def is_researcher(self) -> bool:
        return self.kind == PrincipalKind.RESEARCHER

    @property
    def is_partner(self) -> bool:
        return self.kind in (PrincipalKind.ORGANISATION, PrincipalKind.PERSON)


ANONYMOUS = Principal()


def clearance_ceiling(*, organisation_id: int) -> str:
    """An organisation's TLP ceiling; CLEAR when none was granted."""
    ceiling = Clearance.objects.filter(organisation_id=organisation_id).values_list("ceiling", flat=True).first()
    return ceiling if ceiling in CEILINGS else Tlp.CLEAR


def _loaded_ceiling(organisation: Organisation) -> str:
    """The ceiling of an organisation fetched just now with select_related("clearance")."""
    clearance = organisation._state.fields_cache.get("clearance")
    return clearance.ceiling if clearance is not None and clearance.ceiling in CEILINGS else Tlp.CLEAR


def principal_for_organisation(
    organisation: Organisation, *, credential: str = "", ceiling: str | None = None
) -> Principal:
    """The organisation as a whole (what its API keys act as): its ceiling, its own and shared objects."""
    return Principal(
        kind=PrincipalKind.ORGANISATION,
        organisation_id=organisation.pk,
        ceiling=ceiling or clearance_ceiling(organisation_id=organisation.pk),
        credential=credential,
    )


def principal_for_membership(membership: Membership, *, credential: str = "", ceiling: str | None = None) -> Principal:
    """A named person within their organisation: the organisation's view plus what is shared with them."""
    return Principal(
        kind=PrincipalKind.PERSON,
        organisation_id=membership.organisation_id,
        user_id=membership.user_id,
        ceiling=ceiling or clearance_ceiling(organisation_id=membership.organisation_id),
        credential=credential,
    )


def principal_for_user(user, *, organisation: Organisation | None = None, credential: str = "") -> Principal:
    """A logged-in user: staff are researchers; others act through an active membership, else see nothing."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    if user.is_staff:
        return Principal(kind=PrincipalKind.RESEARCHER, user_id=user.pk, ceiling=Tlp.RED, credential=credential)
    memberships = Membership.objects.filter(user=user, is_active=True)
    if organisation is not None:
        memberships = memberships.filter(organisation=organisation)
    membership = memberships.order_by("pk").first()
    return principal_for_membership(membership, credential=credential) if membership else ANONYMOUS


def principal_for_audience(ceiling: str) -> Principal:
    """Everyone holding a clearance, as one reader (a report made for a clearance): sees what is marked CLEAR up to
    the ceiling and nothing by ownership or by name, so never AMBER+STRICT or RED; rows of AUDIENCE_ONLY_MODELS
    by their marking alone, since what is made for an audience carries only figures derived from them."""
    if ceiling not in CEILINGS:
        raise ValueError(f"A clearance audience is one of {', '.join(CEILINGS)}, not {ceiling}.")
    return Principal(kind=PrincipalKind.AUDIENCE, ceiling=ceiling)


def as_principal(value) -> Principal:
    """Accept a Principal, None, a user, an organisation or a membership (what callers tend to hold)."""
    if value is None:
        return ANONYMOUS
    if isinstance(value, Principal):
        return value
    if isinstance(value, Organisation):
        return principal_for_organisation(value)
    if isinstance(value, Membership):
        return principal_for_membership(value)
    if hasattr(value, "is_authenticated"):
        return principal_for_user(value)
    raise TypeError(f"Cannot decide visibility for a {type(value).__name__}")


# --- the registry: how each model's marking is found ---------------------------------------------------------

# Each app declares, in its AppConfig.ready(), how those of its models without a `tlp` field are marked.
# Models whose rows carry no marking and hold only public reference data.
PUBLIC_MODELS: set[str] = set()
# Models without a marking of their own: visible when every non-null parent along these paths is visible.
DERIVED_MODELS: dict[str, tuple[str, ...]] = {}
# Marked models shown only to their owner organisation and named recipients, whatever the clearance.
AUDIENCE_ONLY_MODELS: set[str] = set()


def register_public(model: type[Model] | str) -> None:
    """Declare that rows of `model` carry no marking and are visible to any authenticated principal."""
    PUBLIC_MODELS.add(_label(model))


def register_derived(model: type[Model] | str, parents: Iterable[str]) -> None:
    """Declare that rows of `model` are visible when all their non-null `parents` (FK paths) are visible."""
    DERIVED_MODELS[_label(model)] = tuple(parents)


def register_audience_only(model: type[Model] | str) -> None:
    """Declare that rows of the marked `model` are shown only to their owner and named recipients."""
    AUDIENCE_ONLY_MODELS.add(_label(model))


def _label(model: type[Model] | str) -> str:
    return model if isinstance(model, str) else model._meta.label_lower


def tlp_ladder(ceiling: str) -> list[str]:
    """The levels a ceiling opens by itself: CLEAR up to the ceiling (never AMBER+STRICT or RED)."""
    rank = TLP_RESTRICTIVENESS[Tlp(ceiling)] if ceiling in CEILINGS else 0
    return [t.value for t in CEILINGS if TLP_RESTRICTIVENESS[t] <= rank]


def _has_field(model: type[Model], name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def _marked_q(principal: Principal, model: type[Model]) -> Q:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    shares = Share.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
    nothing = Q(pk__in=[])
    # `owner_id=None` would match every unowned record: a principal without an organisation owns nothing and
    # is named by no organisation share.
    organisation = principal.organisation_id
    owner = Q(owner_id=organisation) if organisation is not None and _has_field(model, "owner") else nothing
    named_organisation = Q(Exists(shares.filter(organisation_id=organisation))) if organisation is not None else nothing
    named_person = Q(Exists(shares.filter(user_id=principal.user_id))) if principal.user_id else nothing
    audience = owner | named_organisation | named_person
    below_red = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT]
    allowed = Q(tlp__in=tlp_ladder(principal.ceiling)) | (Q(tlp__in=below_red) & audience)
    allowed |= Q(tlp=Tlp.RED) & named_person
    if _label(model) in AUDIENCE_ONLY_MODELS and principal.kind != PrincipalKind.AUDIENCE:
        allowed &= audience
    return allowed


def _visibility_q(principal: Principal, model: type[Model]) -> Q:
    label = _label(model)
    if label in PUBLIC_MODELS:
        return Q()
    if label in DERIVED_MODELS:
        condition = Q()
        for path in DERIVED_MODELS[label]:
            parent = model._meta.get_field(path).related_model
            visible_parents = visible_to(principal, parent._default_manager.all()).values("pk")
            condition &= Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__in": visible_parents})
        return condition
    if _has_field(model, "tlp"):
        return _marked_q(principal, model)
    raise ImproperlyConfigured(f"partners.selectors does not know how {label} is marked; register it.")


def visible_to(principal, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` that `principal` may see, as a queryset (filters, ordering, slicing kept).

    `principal`: a Principal (see `principal_for_organisation`, `principal_for_membership`,
    `principal_for_user`, `principal_for_audience`), or None / a user / an Organisation / a Membership, converted
    by `as_principal`.
    Researchers (staff) see everything, anonymous callers nothing. A partner sees CLEAR/GREEN/AMBER up to
    its organisation's ceiling; AMBER+STRICT (and anything lower) when its organisation owns the object or
    is a named recipient (a Share); RED only through a personal token of a person named on the object. An
    audience principal sees by marking alone, CLEAR up to its ceiling (AUDIENCE_ONLY_MODELS included).
    Models without a marking take the visibility of all their parents (DERIVED_MODELS); reference data
    (PUBLIC_MODELS) is visible to any authenticated principal. An unknown model raises ImproperlyConfigured.
    """
    principal = as_principal(principal)
    if principal.is_researcher:
        return queryset
    if not principal.is_authenticated:
        return queryset.none()
    return queryset.filter(_visibility_q(principal, queryset.model))


def can_see(principal, obj: Model) -> bool:
    """Whether `principal` may see this one object (the same rule as visible_to)."""
    return visible_to(principal, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def derived_tlp(*markings: str) -> str:
    """The marking of something derived from objects with these markings: the most restrictive one."""
    return most_restrictive_tlp([m for m in markings if m])


# --- credentials ------------------------------------------------------------------------------------------

KEY_PREFIX = "eit"  # organisation keys: eit_<prefix>_<secret>
TOKEN_PREFIX = "eitp"  # noqa: S105 - personal tokens: eitp_<prefix>_<secret>


def key_digest(raw: str) -> str:
    """The stored form of a key: SHA-256 of 256 random bits (no slow hash needed at that entropy)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def credential_lookup(raw: str) -> ApiKey | PersonalToken | None:
    """The key or token this raw string is (active or not: the caller checks), or None if unknown."""
    parts = raw.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] not in (KEY_PREFIX, TOKEN_PREFIX):
        return None
    model, related = (ApiKey, ("organisation__clearance",)) if parts[0] == KEY_PREFIX else (PersonalToken, ("user",))
    found = model.objects.select_related(*related).filter(prefix=parts[1]).first()
    if found is None or not hmac.compare_digest(found.digest, key_digest(raw)):
        return None
    return found


def principal_for_credential(credential: ApiKey | PersonalToken) -> Principal:
    """What a key or token acts as: an organisation, a named person, or a researcher (ANONYMOUS if void)."""
    if isinstance(credential, ApiKey):
        organisation = credential.organisation
        return principal_for_organisation(
            organisation, credential=credential.prefix, ceiling=_loaded_ceiling(organisation)
        )
    user = credential.user
    if not user.is_active:
        return ANONYMOUS
    if user.is_staff:
        return principal_for_user(user, credential=credential.prefix)
    if credential.organisation_id is None:
        return ANONYMOUS
    membership = Membership.objects.select_related("organisation__clearance")
    found = membership.filter(user=user, organisation_id=credential.organisation_id, is_active=True).first()
    if found is None:
        return ANONYMOUS
    return principal_for_membership(found, credential=credential.prefix, ceiling=_loaded_ceiling(found.organisation))
