from django.urls import path

from . import funders_views, views

app_name = "impact"

urlpatterns = [
    path("open-data/", funders_views.open_data, name="open_data"),
    path("places/<slug:slug>/", views.place_statistics, name="place"),
    path("places/<slug:slug>/figures.csv", views.place_csv, name="place_csv"),
    path("places/<slug:slug>/report/", funders_views.place_report, name="place_report"),
    path("places/<slug:slug>/report/pdf/", funders_views.place_report_pdf, name="place_report_pdf"),
    path("networks/<slug:slug>/", views.network_statistics, name="network"),
    path("networks/<slug:slug>/figures.csv", views.network_csv, name="network_csv"),
    path("networks/<slug:slug>/report/", funders_views.network_report, name="network_report"),
    path(
        "networks/<slug:slug>/report/pdf/",
        funders_views.network_report_pdf,
        name="network_report_pdf",
    ),
]
