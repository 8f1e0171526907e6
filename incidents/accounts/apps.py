from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "incidents.accounts"
    label = "accounts"

    def ready(self) -> None:
        from incidents.accounts import signals  # noqa: F401 - connects the receivers
