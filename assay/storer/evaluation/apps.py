from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "assay.storer.evaluation"
    label = "evaluation"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from . import changes, queries
        from .models import Job, Tester

        post_save.connect(changes.changed, sender=Job, dispatch_uid="assay-job-changed")
        post_save.connect(queries.forget_testers, sender=Tester, dispatch_uid="assay-testers")
