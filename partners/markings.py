"""Traffic Light Protocol 2.0 markings: the sharing kernel's one vocabulary, used by every app."""

from django.db import models


class Tlp(models.TextChoices):
    """FIRST Traffic Light Protocol 2.0. Not one ordered scale: see partners for who may see what."""

    CLEAR = "CLEAR", "TLP:CLEAR"
    GREEN = "GREEN", "TLP:GREEN"
    AMBER = "AMBER", "TLP:AMBER"
    AMBER_STRICT = "AMBER+STRICT", "TLP:AMBER+STRICT"
    RED = "RED", "TLP:RED"


# Most restrictive last: what is derived from several markings takes the highest rank among them.
TLP_RESTRICTIVENESS = {Tlp.CLEAR: 0, Tlp.GREEN: 1, Tlp.AMBER: 2, Tlp.AMBER_STRICT: 3, Tlp.RED: 4}

TLP_STIX_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_OPENCTI_IDS = {
    Tlp.CLEAR: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    Tlp.GREEN: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    Tlp.AMBER: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    Tlp.AMBER_STRICT: "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    Tlp.RED: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


def most_restrictive_tlp(markings) -> str:
    """The marking that what is derived from these markings carries (CLEAR when there is none)."""
    return max(markings, key=lambda m: TLP_RESTRICTIVENESS[Tlp(m)], default=Tlp.CLEAR)
