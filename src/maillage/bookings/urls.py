from django.urls import path

from . import feeds, manage_views, search_views, views

app_name = "bookings"

urlpatterns = [
    # Search (search_views.py)
    path("", search_views.availability, name="availability"),
    # Member pages (views.py)
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
    path("resources/<int:pk>/book/", views.book, name="book"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("mine/feed/", views.feed, name="feed"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave, name="waitlist_leave"),
    path("places/<slug:slug>/calendar/", views.calendar, name="calendar"),
    # Manager pages (manage_views.py)
    path(
        "places/<slug:slug>/resources/",
        manage_views.manage_resources,
        name="manage_resources",
    ),
    path("places/<slug:slug>/resources/new/", manage_views.resource_new, name="resource_new"),
    path(
        "places/<slug:slug>/resources/<int:pk>/edit/",
        manage_views.resource_edit,
        name="resource_edit",
    ),
    path("places/<slug:slug>/requests/", manage_views.booking_requests, name="requests"),
    path("places/<slug:slug>/requests/<int:pk>/", manage_views.decide, name="decide"),
    path("places/<slug:slug>/trainings/", manage_views.trainings, name="trainings"),
    path(
        "places/<slug:slug>/trainings/<int:pk>/revoke/",
        manage_views.training_revoke,
        name="training_revoke",
    ),
    # iCalendar feeds (feeds.py)
    path("feeds/resources/<int:pk>.ics", feeds.resource_feed, name="resource_feed"),
    path("feeds/places/<slug:slug>.ics", feeds.place_feed, name="place_feed"),
    path("feeds/u/<str:token>.ics", feeds.user_feed, name="user_feed"),
]
