"""The project list, at the site root (the other dashboard routes: layersadmin/urls.py)."""

from django.urls import path

from projects import views

urlpatterns = [
    path("", views.project_list, name="project_list"),
]
