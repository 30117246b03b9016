"""Root URLconf. Each app owns its own `urls.py`; this file only mounts them.

Dashboard routes, fixed so links and bookmarks keep working (moving a page between apps
never changes its address):

    /                                         project_list        projects
    /leaderboard/                             agency_leaderboard  creatives (+ export.csv)
    /projects/<id>/                           project_detail      creatives (the overview)
    /projects/<id>/gallery/                   project_gallery     creatives
    /projects/<id>/leaderboard/               project_leaderboard creatives (+ refresh/, export.csv)
    /projects/<id>/creatives/                 creative_list       creatives (+ export.csv)
    /projects/<id>/creatives/<adsContentId>/  creative_detail     creatives (+ override/)
    /tasks/<task_id>/                         task_status         sync (a person's background task)
    /saved-views/ (+ <id>/delete/)            saved_view_create   projects (POST: saved views)
    /webhooks/layers/                         layers_webhook      webhooks (Layers' signed events)
    /notifications/ (+ read/)                 notifications       alerts (a person's alerts)
    /settings/alerts/ (+ mute/)               alert_settings      alerts (rules, digest, mutes)

``<id>`` is the Layers project id in any form (``layersadmin.layers.ids``).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from layersadmin import views
from projects import saved_view_views

admin.site.site_header = "layersadmin support"
admin.site.site_title = "layersadmin"
admin.site.index_title = "Layers cache and actions"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Admin pages of models that moved app: the old addresses redirect (bookmarks keep working).
    path(
        "admin/",
        include(
            [
                re_path(
                    r"^(?P<app_label>projects)/(?P<model>syncrun|synclease|taskrecord)/(?P<rest>.*)$",
                    admin.site.admin_view(views.admin_moved),
                )
            ]
        ),
    ),
    path("admin/", admin.site.urls),
    path("", include("projects.urls")),
    path("", include("creatives.urls")),
    path("", include("sync.urls")),
    path("saved-views/", saved_view_views.saved_view_create_view, name="saved_view_create"),
    path(
        "saved-views/<int:view_id>/delete/",
        saved_view_views.saved_view_delete_view,
        name="saved_view_delete",
    ),
    path("", include("webhooks.urls")),
    path("", include("alerts.urls")),
]
