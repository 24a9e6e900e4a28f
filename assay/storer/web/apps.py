from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "assay.storer.web"
    label = "web"
