from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CampaignsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "campaigns"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from partners.selectors import register_derived, register_public

        from .services import vocabulary_rows_ensure

        # After every migrate, and after a flush, which empties the tables the data migration filled.
        post_migrate.connect(vocabulary_rows_ensure, sender=self, dispatch_uid="campaigns-vocabulary-rows")

        for reference in ("Technique", "Platform", "InterferenceTool"):
            register_public(self.get_model(reference))
        register_derived(self.get_model("Alias"), ("actor", "operation", "source"))
        register_derived(self.get_model("ElectionRound"), ("election",))
        register_derived(self.get_model("ElectionPhase"), ("election",))
        register_derived(self.get_model("TechniqueUse"), ("campaign", "source"))
