from django.apps import AppConfig


class DetectionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "detection"
    verbose_name = "Detection"

    def ready(self) -> None:
        from partners.selectors import register_audience_only, register_derived

        from . import dispatch, tasks

        dispatch.workers_install(tasks.CeleryWorkers())

        register_audience_only(self.get_model("Sample"))
        register_derived(self.get_model("SampleImport"), ("sample",))
        register_derived(self.get_model("RejectedRow"), ("sample_import",))
        # scoring results: what a run found carries the marking (and the audience) of its sample
        register_derived(self.get_model("ScoringRun"), ("sample",))
        register_derived(self.get_model("RunShard"), ("run",))
        register_derived(self.get_model("CoordinatedGroup"), ("run",))
        register_derived(self.get_model("AccountScore"), ("run", "group"))
        register_derived(self.get_model("CoordinationEdge"), ("run", "group"))
        register_derived(self.get_model("EdgeEvidence"), ("edge",))
        register_derived(self.get_model("NarrativeDiscovery"), ("run",))
        register_derived(self.get_model("NarrativeCluster"), ("run", "narrative", "suggested"))
        register_derived(self.get_model("NarrativeClusterPost"), ("cluster",))
