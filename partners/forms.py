"""Admin forms of the partners app: an organisation's country from ISO 3166 (django-countries), a credential's
allowed networks as lines of text (stored as the same JSON list)."""

import ipaddress

from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries
from unfold.widgets import UnfoldAdminSelect2Widget, UnfoldAdminTextareaWidget

from .models import ApiKey, Organisation, PersonalToken


class NetworkListField(forms.CharField):
    """CIDR blocks, one per line (or separated by commas), cleaned to the list of strings the model stores."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", UnfoldAdminTextareaWidget(attrs={"rows": 3}))
        kwargs.setdefault(
            "help_text", "CIDR blocks the key may be used from, one per line (e.g. 192.0.2.0/24); empty: anywhere"
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(network) for network in value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        networks = [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]
        wrong = []
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                wrong.append(network)
        if wrong:
            raise ValidationError(f"Not a network (CIDR block or address): {', '.join(wrong)}")
        return list(dict.fromkeys(networks))

    def has_changed(self, initial, data) -> bool:
        try:
            return list(initial or []) != self.to_python(data)
        except ValidationError:
            return True


class ApiKeyForm(forms.ModelForm):
    allowed_networks = NetworkListField()

    class Meta:
        model = ApiKey
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields


class PersonalTokenForm(forms.ModelForm):
    allowed_networks = NetworkListField()

    class Meta:
        model = PersonalToken
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields


class OrganisationForm(forms.ModelForm):
    country = forms.ChoiceField(
        choices=lambda: [("", "---------"), *((code, f"{name} ({code})") for code, name in countries)],
        required=False,
        widget=UnfoldAdminSelect2Widget,
        help_text="ISO 3166-1 country",
    )

    class Meta:
        model = Organisation
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields
