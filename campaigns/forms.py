"""Admin forms of the catalogue: lists of codes and the FIAT scorecard as fields a person fills in, not JSON.

Each field stores what the JSON field stored before (a list of codes, a dict of item -> true/false), so the
API, the STIX export and the reports read the same values.
"""

from django import forms
from django.contrib.admin.options import HORIZONTAL
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelect2MultipleWidget,
    UnfoldAdminSelect2Widget,
)

from . import codes
from . import vocabularies as vocab
from .models import AttributionClaim, Campaign, Election, Narrative, Takedown, ThreatActor


class CodeListField(forms.MultipleChoiceField):
    """A JSON list of codes, chosen from a list; the empty choice is the empty list."""

    def __init__(self, *, choices, widget=None, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(choices=choices, widget=widget or UnfoldAdminSelect2MultipleWidget, **kwargs)


class LanguageListField(CodeListField):
    """BCP 47 tags; the choices are widened with the valid tags the record already holds (see CodeListsForm)."""

    def __init__(self, **kwargs):
        super().__init__(choices=codes.language_choices, **kwargs)


def country_list_field(**kwargs) -> CodeListField:
    return CodeListField(choices=codes.country_choices, help_text="ISO 3166-1 countries", **kwargs)


def country_field(*, required: bool = True) -> forms.ChoiceField:
    blank = [] if required else [("", "---------")]
    return forms.ChoiceField(
        choices=lambda: [*blank, *codes.country_choices()],
        required=required,
        widget=UnfoldAdminSelect2Widget,
        help_text="ISO 3166-1 country",
    )


def kept_order(before: list[str], chosen: list[str]) -> list[str]:
    """The chosen codes in the order the record had them, new ones after: re-saving changes nothing."""
    kept = [code for code in before if code in chosen]
    return kept + [code for code in dict.fromkeys(chosen) if code not in kept]


class CodeListsForm(forms.ModelForm):
    """An admin model form whose CodeListFields keep the record's order and whose language fields offer its tags.

    These forms' Meta take every field: the admin narrows them (fieldsets, readonly fields), and a form that named
    only the fields it customises would leave an admin without fieldsets with those fields alone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, LanguageListField):
                field.choices = codes.language_choices(tuple(self.initial.get(name) or ()))

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, CodeListField) and name in cleaned:
                cleaned[name] = kept_order(list(self.initial.get(name) or []), cleaned[name])
        return cleaned


class CampaignForm(CodeListsForm):
    target_countries = country_list_field()
    languages = LanguageListField(help_text="BCP 47 language tags")

    class Meta:
        model = Campaign
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields; see CodeListsForm


class NarrativeForm(CodeListsForm):
    languages = LanguageListField(help_text="BCP 47 language tags")
    five_ds = CodeListField(choices=vocab.FiveD.choices, widget=UnfoldAdminCheckboxSelectMultipleWidget, label="5Ds")

    class Meta:
        model = Narrative
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields; see CodeListsForm


class TakedownForm(CodeListsForm):
    origin_countries = country_list_field()
    target_countries = country_list_field()

    class Meta:
        model = Takedown
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields; see CodeListsForm


class ThreatActorForm(forms.ModelForm):
    country = country_field()

    class Meta:
        model = ThreatActor
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields; see CodeListsForm


class ElectionForm(forms.ModelForm):
    country = country_field()

    class Meta:
        model = Election
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields; see CodeListsForm


SCORECARD_ANSWERS = [("", "Not assessed"), ("yes", "Yes"), ("no", "No")]
_STORED_ANSWER = {True: "yes", False: "no"}


def scorecard_field_name(item: str) -> str:
    return f"fiat_{item.removeprefix('attribution_')}"


def _scorecard_field(item: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=vocab.FIAT_SCORECARD_LABELS[item],
        choices=SCORECARD_ANSWERS,
        required=False,
        widget=UnfoldAdminRadioSelectWidget(radio_style=HORIZONTAL),
        help_text=item,
    )


class ClaimInlineForm(forms.ModelForm):
    """A claim as a campaign's inline edits it: the claimant's country from the list; the scorecard is left alone."""

    claimant_country = country_field(required=False)

    class Meta:
        model = AttributionClaim
        exclude = ["scorecard"]  # noqa: DJ006 - edited on the claim's own page


class ClaimFormBase(ClaimInlineForm):
    """A claim with its FIAT scorecard as 18 questions: yes, no or not assessed (the item is then left out)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.scorecard or {}
        for item in vocab.FIAT_SCORECARD_ITEMS:
            self.initial.setdefault(scorecard_field_name(item), _STORED_ANSWER.get(stored.get(item), ""))

    def clean(self) -> dict:
        cleaned = super().clean()
        answers = {item: cleaned.get(scorecard_field_name(item)) for item in vocab.FIAT_SCORECARD_ITEMS}
        self.instance.scorecard = {item: answer == "yes" for item, answer in answers.items() if answer}
        return cleaned


# The 18 fields are declared on the class (not added per instance) so that the admin's fieldsets may name them.
AttributionClaimForm = type(
    "AttributionClaimForm",
    (ClaimFormBase,),
    {
        "__module__": __name__,
        **{scorecard_field_name(item): _scorecard_field(item) for item in vocab.FIAT_SCORECARD_ITEMS},
    },
)


def scorecard_fieldsets() -> list[tuple[str, dict]]:
    """One admin fieldset per part of the scorecard, with its items' fields."""
    return [
        (f"FIAT scorecard: {part}", {"fields": [scorecard_field_name(item) for item in items]})
        for part, items in vocab.FIAT_SCORECARD.items()
    ]
