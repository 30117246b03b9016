"""Layers' webhook deliveries (mounted at the site root)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/layers/", views.layers_webhook, name="layers_webhook"),
]
