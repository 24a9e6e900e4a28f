from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "assay.storer.accounts"
    label = "accounts"
