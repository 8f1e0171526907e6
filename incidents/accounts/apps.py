from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "incidents.accounts"
    label = "accounts"
