from django.urls import path  # noqa: F401  (each section below adds its routes)

app_name = "bookings"

urlpatterns = [
    # Search (search_views.py)
    # Member pages (views.py)
    # Manager pages (manage_views.py)
    # iCalendar feeds (feeds.py)
]
