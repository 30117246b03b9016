"""Root URLconf. Each app owns its own `urls.py`; this file only mounts them."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from layersadmin import views

admin.site.site_header = "layersadmin support"
admin.site.site_title = "layersadmin"
admin.site.index_title = "Layers cache and actions"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("projects.urls")),
]
