"""Routes of the pages that read creatives, mounted at the site root (layersadmin/urls.py)."""

from django.urls import path

from creatives import bulk_views, review_views, views

project = "projects/<str:project_id>/"

urlpatterns = [
    path(project, views.project_detail, name="project_detail"),
    path("leaderboard/", views.agency_leaderboard, name="agency_leaderboard"),
    path(
        "leaderboard/export.csv",
        views.agency_leaderboard_export,
        name="agency_leaderboard_export",
    ),
    path(f"{project}gallery/", views.gallery, name="project_gallery"),
    path(f"{project}leaderboard/", views.leaderboard, name="project_leaderboard"),
    path(
        f"{project}leaderboard/refresh/",
        views.leaderboard_refresh_view,
        name="leaderboard_refresh",
    ),
    path(f"{project}leaderboard/export.csv", views.leaderboard_export, name="leaderboard_export"),
    path(f"{project}creatives/", views.creative_list, name="creative_list"),
    path(f"{project}creatives/export.csv", views.creative_export, name="creative_export"),
    path(
        f"{project}creatives/<str:ads_content_id>/",
        views.creative_detail,
        name="creative_detail",
    ),
    path(
        f"{project}creatives/<str:ads_content_id>/override/",
        views.creative_override,
        name="creative_override",
    ),
    # The decision tables' shared row form, bulk actions and the agency's table
    # (creatives/bulk_views.py).
    path("creatives/", bulk_views.agency_creatives, name="agency_creatives"),
    path(
        "creatives/export.csv", bulk_views.agency_creatives_export, name="agency_creatives_export"
    ),
    path("creatives/change/", bulk_views.creative_change, name="creative_change"),
    path(
        "creatives/changes/<int:audit_id>/undo/",
        bulk_views.creative_override_undo_view,
        name="creative_override_undo",
    ),
    path("creatives/bulk/", bulk_views.bulk_override_create_view, name="bulk_override_create"),
    path(
        "creatives/bulk/<int:bulk_id>/",
        bulk_views.bulk_override_status,
        name="bulk_override_status",
    ),
    path(
        "creatives/bulk/<int:bulk_id>/undo/",
        bulk_views.bulk_override_undo_view,
        name="bulk_override_undo",
    ),
    path(
        "creatives/bulk/<int:bulk_id>/resume/",
        bulk_views.bulk_override_resume_view,
        name="bulk_override_resume",
    ),
    # Content review (creatives/review_views.py).
    path("review/", review_views.agency_review_queue, name="agency_review_queue"),
    path(f"{project}review/", review_views.project_review_queue, name="project_review_queue"),
    path(
        f"{project}content/<str:container_id>/approve/",
        review_views.content_approve_view,
        name="content_approve",
    ),
    path(
        f"{project}content/<str:container_id>/reject/",
        review_views.content_reject_view,
        name="content_reject",
    ),
]
