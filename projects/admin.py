"""Admin for projects: assignments, create, edit and archive in Layers.

The sync app (above this one) registers the admin actually used, ``sync.admin.
ProjectSyncAdmin``: this class plus "Sync selected projects now" and a queued first sync for a
project created here (``project_created``). Nothing here imports the sync.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from layersadmin.admin import SyncedModelAdmin, api_label_column
from layersadmin.layers import LayersError
from projects.admin_forms import ProjectChangeForm, ProjectCreateForm
from projects.models import Project
from projects.services.projects import project_archive, project_create, project_update


class ProjectAdmin(SyncedModelAdmin):
    list_display = (
        "name",
        "customer_external_id",
        api_label_column("status", "project_status"),
        "layers_id",
        "content_count",
        "scored_count",
        "last_sync_ok_at",
        "is_gone",
    )
    list_filter = ("status", "is_gone", "timezone")
    search_fields = ("name", "layers_id", "customer_external_id")
    date_hierarchy = "created_at"
    filter_horizontal = ("account_managers",)
    editable_fields = ("account_managers", "name", "timezone", "customer_external_id")
    api_fields = {
        "name": "name",
        "timezone": "timezone",
        "customer_external_id": "customerExternalId",
    }
    form = ProjectChangeForm
    actions = ("archive_in_layers",)
    change_list_template = "admin/projects/project/change_list.html"

    def get_fields(self, request, obj=None):
        editable = ["name", "timezone", "customer_external_id", "account_managers"]
        return [*editable, *self.get_readonly_fields(request, obj)]

    def save_model(self, request, obj, form, change):
        """Name, timezone and customer id are mirrored: they change through PATCH."""
        changes = {
            api: form.cleaned_data[field]
            for field, api in self.api_fields.items()
            if field in form.changed_data
        }
        if changes:
            original = Project.objects.get(pk=obj.pk)
            try:
                project_update(project=original, changes=changes)
            except LayersError as exc:
                self.message_user(request, f"Not changed in Layers: {exc}", messages.ERROR)
        # Local fields only; mirrored ones now come from the API's answer.

    def save_related(self, request, form, formsets, change):
        form.instance.refresh_from_db()
        form.instance.account_managers.set(form.cleaned_data["account_managers"])

    def get_urls(self):
        custom = [
            path(
                "create-in-layers/",
                self.admin_site.admin_view(self.create_in_layers),
                name="projects_project_create_in_layers",
            )
        ]
        return custom + super().get_urls()

    def create_in_layers(self, request):
        if not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = ProjectCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                project = project_create(
                    name=form.cleaned_data["name"],
                    timezone_name=form.cleaned_data["timezone"],
                    customer_external_id=form.cleaned_data["customer_external_id"],
                )
            except LayersError as exc:
                form.add_error(None, str(exc))
            else:
                self.project_created(request, project)
                return redirect(reverse("admin:projects_project_change", args=[project.pk]))
        return TemplateResponse(
            request,
            "admin/projects/project/create_in_layers.html",
            {
                **self.admin_site.each_context(request),
                "title": "Create project in Layers",
                "form": form,
                "opts": self.model._meta,
            },
        )

    def project_created(self, request, project: Project) -> None:
        """Say what happened after ``create_in_layers`` stored a new project."""
        self.message_user(request, f"{project} created in Layers.", messages.SUCCESS)

    @admin.action(description="Archive in Layers", permissions=["change"])
    def archive_in_layers(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/projects/project/archive_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Archive projects in Layers?",
                    "projects": queryset,
                    "opts": self.model._meta,
                    "action": "archive_in_layers",
                },
            )
        for project in queryset:
            try:
                project_archive(project=project)
            except LayersError as exc:
                self.message_user(request, f"{project}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{project} archived in Layers.", messages.SUCCESS)
        return None
