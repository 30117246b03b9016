"""Admin for the alerts: alerts and notifications are read-only history; people's choices
and team channels are edited here (a team's Slack URL only here, and listed masked)."""

from __future__ import annotations

from django.contrib import admin

from alerts.models import (
    Alert,
    AlertPreference,
    Notification,
    ProjectMute,
    ProjectSyncStreak,
    TeamAlertChannel,
)
from layersadmin.admin import ReadOnlyModelAdmin


@admin.register(Alert)
class AlertAdmin(ReadOnlyModelAdmin):
    list_display = ("rule", "project", "ads_content", "opened_at", "cleared_at")
    list_filter = ("rule", ("cleared_at", admin.EmptyFieldListFilter))
    list_select_related = ("project", "ads_content")
    search_fields = ("project__name", "project__layers_id", "ads_content__layers_id")
    raw_id_fields = ("project", "ads_content")
    date_hierarchy = "opened_at"
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "alert", "created_at", "read_at")
    list_filter = (("read_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user", "alert", "alert__project", "alert__ads_content")
    search_fields = ("user__username", "alert__project__name")
    raw_id_fields = ("user", "alert")
    show_full_result_count = False


@admin.register(AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "digest", "timezone", "updated_at")
    list_filter = ("digest",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


@admin.register(ProjectMute)
class ProjectMuteAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "until")
    list_select_related = ("user", "project")
    search_fields = ("user__username", "project__name")
    raw_id_fields = ("user", "project")


@admin.register(TeamAlertChannel)
class TeamAlertChannelAdmin(admin.ModelAdmin):
    list_display = ("group", "masked_url", "enabled", "updated_at")
    list_select_related = ("group",)
    search_fields = ("group__name",)

    @admin.display(description="Slack webhook")
    def masked_url(self, obj: TeamAlertChannel) -> str:
        return obj.masked_url


@admin.register(ProjectSyncStreak)
class ProjectSyncStreakAdmin(ReadOnlyModelAdmin):
    list_display = ("project", "failures_in_row", "last_failed_at", "last_ok_at")
    list_select_related = ("project",)
    search_fields = ("project__name", "project__layers_id")
    raw_id_fields = ("project",)
