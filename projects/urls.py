"""Dashboard routes. Fixed URLs so links can be shared:

    /                                         project_list
    /leaderboard/                             agency_leaderboard (+ export.csv)
    /projects/<id>/                           project_detail
    /projects/<id>/gallery/                   project_gallery
    /projects/<id>/leaderboard/               project_leaderboard (+ refresh/, export.csv)
    /projects/<id>/creatives/                 creative_list (+ export.csv)
    /projects/<id>/creatives/<adsContentId>/  creative_detail (+ override/)
    /tasks/<task_id>/                         task_status (a background task someone started)

``<id>`` is the Layers project id; creative pages live in creatives/urls.py.
"""

from django.urls import include, path

from projects import task_views, views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/<str:project_id>/", views.project_detail, name="project_detail"),
    path("tasks/<str:task_id>/", task_views.task_status, name="task_status"),
    path("", include("creatives.urls")),
]
