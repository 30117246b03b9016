from django.apps import AppConfig


class CreativesConfig(AppConfig):
    name = "creatives"
    verbose_name = "Content and scored creatives"

    def ready(self) -> None:
        from creatives.vocabulary import API_LABELS
        from layersadmin.formatting import labels_register

        labels_register(API_LABELS)
