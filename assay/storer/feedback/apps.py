from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "assay.storer.feedback"
    label = "feedback"
