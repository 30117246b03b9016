"""Routes of the alert pages, mounted at the site root (layersadmin/urls.py)."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("notifications/", views.notification_list_view, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("settings/alerts/", views.alert_settings, name="alert_settings"),
    path("settings/alerts/mute/", views.alert_mute, name="alert_mute"),
]
