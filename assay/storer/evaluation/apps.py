from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "assay.storer.evaluation"
    label = "evaluation"
