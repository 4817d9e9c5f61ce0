from . import (
    board_views,
    exchange_views,
    givebox_views,
    ideas_views,
    mentoring_views,
    views,
)

app_name = "community"

urlpatterns = [
    *views.urlpatterns,
    *exchange_views.urlpatterns,
    *board_views.urlpatterns,
    *mentoring_views.urlpatterns,
    *givebox_views.urlpatterns,
    *ideas_views.urlpatterns,
]
