"""Dashboard routes. Fixed URLs so links can be shared:

    /                                         project_list
    /leaderboard/                             agency_leaderboard (+ export.csv)
    /projects/<id>/                           project_detail
    /projects/<id>/gallery/                   project_gallery
    /projects/<id>/leaderboard/               project_leaderboard (+ refresh/, export.csv)
    /projects/<id>/creatives/                 creative_list (+ export.csv)
    /projects/<id>/creatives/<adsContentId>/  creative_detail (+ override/)

``<id>`` is the Layers project id; creative pages live in creatives/urls.py.
"""

from django.urls import include, path

from projects import views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/<str:project_id>/", views.project_detail, name="project_detail"),
    path("", include("creatives.urls")),
]
