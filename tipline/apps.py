from django.apps import AppConfig


class TiplineConfig(AppConfig):
    name = "tipline"
    verbose_name = "Tipline"

    def ready(self) -> None:
        from tipline import checks  # noqa: F401  (registers the start-up checks)
