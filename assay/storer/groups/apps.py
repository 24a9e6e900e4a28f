from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "assay.storer.groups"
    label = "groups"
