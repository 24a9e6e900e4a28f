from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "assay.storer.sso"
    label = "sso"
    verbose_name = "Single sign-on"
