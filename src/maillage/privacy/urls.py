from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("export.zip", views.export, name="export"),
    path("erase/", views.erase, name="erase"),
]
