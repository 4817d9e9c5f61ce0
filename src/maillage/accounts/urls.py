from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
]
