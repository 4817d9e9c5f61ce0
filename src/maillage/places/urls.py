from django.urls import path

from . import views

app_name = "places"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("map/", views.map_view, name="map"),
    path("propose/", views.propose_place, name="propose"),
    path("moderation/", views.moderation_queue, name="moderation"),
    path("moderation/<int:pk>/", views.moderation_detail, name="moderation_detail"),
    path("<slug:slug>/", views.place_detail, name="detail"),
    path("<slug:slug>/correct/", views.propose_correction, name="correct"),
    path("<slug:slug>/edit/", views.place_edit, name="edit"),
    path("<slug:slug>/hours/", views.place_hours_edit, name="hours"),
    path("<slug:slug>/seasons/new/", views.season_edit, name="season_new"),
    path("<slug:slug>/seasons/<int:season_id>/", views.season_edit, name="season_edit"),
    path("<slug:slug>/seasons/<int:season_id>/delete/", views.season_delete, name="season_delete"),
    path("<slug:slug>/gallery/", views.place_gallery_edit, name="gallery"),
    path("<slug:slug>/team/", views.place_team, name="team"),
    path("<slug:slug>/history/", views.place_history, name="history"),
]
