from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "assay.storer.grading"
    label = "grading"
