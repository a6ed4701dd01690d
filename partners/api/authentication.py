"""Who is calling: an organisation's API key, a person's token, or a researcher's admin session."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from partners import services
from partners.addresses import client_address
from partners.selectors import ANONYMOUS, Principal, credential_lookup, principal_for_credential, principal_for_user

REFUSED = "Invalid, expired or revoked key."


def principal_of(request) -> Principal:
    """The principal DRF authenticated for this request (ANONYMOUS when none)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Principal) else ANONYMOUS


class _PartnerUser:
    """request.user for an organisation key: authenticated, never staff, never a database user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __init__(self, principal: Principal):
        self.principal = principal

    def __str__(self) -> str:
        return f"organisation {self.principal.organisation_id}"


def raw_key(request) -> str | None:
    """The key in `Authorization: Bearer <key>`, or as the password of HTTP Basic (for TAXII clients)."""
    header = authentication.get_authorization_header(request).decode("latin-1").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip() or ""
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


class KeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer eit_...` (organisation key) or `Bearer eitp_...` (personal token)."""

    def authenticate(self, request):
        raw = raw_key(request)
        if raw is None:
            return None
        address = client_address(request)
        credential = credential_lookup(raw)
        if credential is None:
            raise exceptions.AuthenticationFailed(REFUSED)
        if not credential.is_active or not services.address_allowed(credential=credential, address=address):
            services.key_refusal_record(
                credential=credential,
                address=address,
                path=request.path,
                detail="revoked or expired" if not credential.is_active else "address not allowed",
            )
            raise exceptions.AuthenticationFailed(REFUSED)
        principal = principal_for_credential(credential)
        if not principal.is_authenticated:
            raise exceptions.AuthenticationFailed(REFUSED)
        services.credential_used(credential=credential, address=address)
        user = getattr(credential, "user", None) or _PartnerUser(principal)
        return user, principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A researcher logged in to the admin (staff only; partners never use sessions)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        principal = principal_for_user(user)
        if not principal.is_researcher:
            return None
        return user, principal


class KeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api.authentication.KeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organisation key (eit_...) or a personal token (eitp_...), shown once at creation.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api.authentication.StaffSessionAuthentication"
    name = "researcherSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
