from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "assay.storer.roster"
    label = "roster"
