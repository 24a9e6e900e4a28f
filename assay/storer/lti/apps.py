from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "assay.storer.lti"
    label = "lti"
    verbose_name = "LTI 1.3"

    def ready(self) -> None:
        from . import scores

        scores.connect()
