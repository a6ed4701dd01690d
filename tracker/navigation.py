"""The admin's sidebar (unfold's SIDEBAR["navigation"]): the researcher's work first, the technical apps last.

Each entry is shown to those who may view its model, as the admin's own app list does.
"""

from functools import partial

from django.urls import reverse_lazy

TECHNICAL_APPS = ("auth", "axes", "django_celery_beat")

SECTIONS = [
    (
        "Detection",
        [
            ("Samples", "dataset", "detection", "sample"),
            ("Imports", "upload_file", "detection", "sampleimport"),
            ("Scoring runs", "play_circle", "detection", "scoringrun"),
            ("Coordinated groups", "hub", "detection", "coordinatedgroup"),
            ("Narrative clusters", "topic", "detection", "narrativecluster"),
            ("Classifier models", "model_training", "detection", "classifiermodel"),
            ("Accounts", "person", "detection", "socialaccount"),
            ("Posts", "chat", "detection", "post"),
        ],
    ),
    (
        "Catalogue",
        [
            ("Campaigns", "campaign", "campaigns", "campaign"),
            ("Elections", "how_to_vote", "campaigns", "election"),
            ("Threat actors", "groups", "campaigns", "threatactor"),
            ("Operations", "account_tree", "campaigns", "operation"),
            ("Narratives", "forum", "campaigns", "narrative"),
            ("Attribution claims", "gavel", "campaigns", "attributionclaim"),
            ("Takedowns", "block", "campaigns", "takedown"),
            ("Assets", "badge", "campaigns", "asset"),
            ("Technique uses", "checklist", "campaigns", "techniqueuse"),
            ("Techniques", "menu_book", "campaigns", "technique"),
            ("Sources", "source", "campaigns", "source"),
            ("Interference tools", "build", "campaigns", "interferencetool"),
            ("Aliases", "label", "campaigns", "alias"),
            ("Platforms", "devices", "campaigns", "platform"),
        ],
    ),
    (
        "Reports",
        [
            ("Reports", "description", "reports", "report"),
            ("Subscriptions", "mail", "reports", "subscription"),
        ],
    ),
    (
        "Sharing",
        [
            ("Organisations", "corporate_fare", "partners", "organisation"),
            ("Memberships", "group_add", "partners", "membership"),
            ("Clearances", "verified_user", "partners", "clearance"),
            ("Shares", "share", "partners", "share"),
            ("API keys", "key", "partners", "apikey"),
            ("Personal tokens", "token", "partners", "personaltoken"),
            ("Audit events", "history", "partners", "auditevent"),
        ],
    ),
    (
        "Administration",
        [
            ("Users", "person", "auth", "user"),
            ("Groups", "group", "auth", "group"),
            ("Login attempts", "login", "axes", "accessattempt"),
            ("Login failures", "lock", "axes", "accessfailurelog"),
            ("Login log", "receipt_long", "axes", "accesslog"),
            ("Periodic tasks", "schedule", "django_celery_beat", "periodictask"),
        ],
    ),
]


def may_view(request, app_label: str, model_name: str) -> bool:
    return request.user.has_perm(f"{app_label}.view_{model_name}") or request.user.has_perm(
        f"{app_label}.change_{model_name}"
    )


def sidebar_navigation() -> list[dict]:
    return [
        {
            "title": title,
            "separator": True,
            "collapsible": title == "Administration",
            "items": [
                {
                    "title": label,
                    "icon": icon,
                    "link": reverse_lazy(f"admin:{app}_{model}_changelist"),
                    "permission": partial(may_view, app_label=app, model_name=model),
                }
                for label, icon, app, model in items
            ],
        }
        for title, items in SECTIONS
    ]
