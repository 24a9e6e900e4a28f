from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "assay.storer.courses"
    label = "courses"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from assay.storer.request_cache import forget

        from .models import Membership

        # a role changed within a request is not answered from that request's cache
        for signal in (post_save, post_delete):
            signal.connect(forget, sender=Membership, dispatch_uid=f"assay-roles-{signal}")
