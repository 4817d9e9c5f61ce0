from django.urls import path

from . import views

app_name = "archives"

urlpatterns = [
    path("places/<slug:slug>/", views.place_archives, name="place"),
    path("places/<slug:slug>/<int:pk>/download/", views.download, name="download"),
]
