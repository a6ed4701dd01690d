"""Who may call what: any authenticated principal reads; submitting samples needs a submitting role."""

from rest_framework.permissions import BasePermission

from partners.models import Membership, MembershipRole

from .authentication import principal_of


class HasPrincipal(BasePermission):
    """An organisation key, a person's token or a researcher."""

    def has_permission(self, request, view) -> bool:
        return principal_of(request).is_authenticated


class CanSubmitSamples(BasePermission):
    """Organisation keys and researchers may submit; a person needs the submitter or manager role."""

    message = "Your role does not allow submitting samples."

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        if principal.is_researcher or principal.kind == "organisation":
            return True
        return Membership.objects.filter(
            user_id=principal.user_id,
            organisation_id=principal.organisation_id,
            is_active=True,
            role__in=[MembershipRole.SUBMITTER, MembershipRole.MANAGER],
        ).exists()
