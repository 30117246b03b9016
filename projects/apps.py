from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        from layersadmin.formatting import labels_register
        from projects.vocabulary import API_LABELS

        labels_register(API_LABELS)
