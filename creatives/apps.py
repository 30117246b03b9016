from django.apps import AppConfig


class CreativesConfig(AppConfig):
    name = "creatives"
    verbose_name = "Content and scored creatives"
