from django.urls import path

from . import feeds, manage_views, newsletter_views, views

app_name = "agenda"

urlpatterns = [
    # The network agenda and events (views.py).
    path("", views.agenda, name="index"),
    path("events/<int:pk>-<slug:slug>/", views.event, name="event"),
    path("events/<int:pk>/register/", views.register, name="register"),
    path("registrations/<str:secret>/", views.registration, name="registration"),
    path("mine/", views.mine, name="mine"),
    path("widget/", views.widget, name="widget"),
    # Feeds (feeds.py): the agenda's filters as query parameters.
    path("feed.ics", feeds.ical, name="feed_ics"),
    path("feed.rss", feeds.rss, name="feed_rss"),
    # Newsletter (newsletter_views.py).
    path("newsletter/", newsletter_views.subscribe, name="newsletter"),
    path("newsletter/confirm/<str:secret>/", newsletter_views.confirm, name="newsletter_confirm"),
    path(
        "newsletter/unsubscribe/<str:secret>/",
        newsletter_views.unsubscribe,
        name="newsletter_unsubscribe",
    ),
    path("newsletter/digest/", newsletter_views.digest, name="digest"),
    # Managers (manage_views.py).
    path("manage/places/<slug:slug>/", manage_views.place_events, name="manage_place"),
    path("manage/networks/<slug:slug>/", manage_views.network_events, name="manage_network"),
    path("manage/places/<slug:slug>/new/", manage_views.create_for_place, name="create_place"),
    path(
        "manage/networks/<slug:slug>/new/", manage_views.create_for_network, name="create_network"
    ),
    path("manage/events/<int:pk>/edit/", manage_views.edit, name="edit"),
    path("manage/events/<int:pk>/cancel/", manage_views.cancel, name="cancel"),
    path("manage/events/<int:pk>/participants/", manage_views.participants, name="participants"),
    path(
        "manage/events/<int:pk>/participants.csv",
        manage_views.participants_csv,
        name="participants_csv",
    ),
    path("manage/events/<int:pk>/message/", manage_views.message, name="message"),
    path("manage/events/<int:pk>/checkin/", manage_views.checkin, name="checkin"),
]
