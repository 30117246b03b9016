from django.apps import AppConfig


class LayersadminConfig(AppConfig):
    name = "layersadmin"
    verbose_name = "layersadmin"
