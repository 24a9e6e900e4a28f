from django.apps import AppConfig


class AuthoringConfig(AppConfig):
    name = "assay.storer.authoring"
    label = "authoring"
