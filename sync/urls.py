"""The status page of a background task a person started (mounted at the site root)."""

from django.urls import path

from sync import views

urlpatterns = [
    path("tasks/<str:task_id>/", views.task_status, name="task_status"),
]
