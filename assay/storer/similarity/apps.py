from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    name = "assay.storer.similarity"
    label = "similarity"
