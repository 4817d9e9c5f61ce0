from django.urls import path

from . import kiosk_views, manage_views, views

app_name = "members"

urlpatterns = [
    # Members' own pages and the directory.
    path("me/", views.profile_edit, name="profile_edit"),
    path("me/plans/", views.mine, name="mine"),
    path("me/attendance.csv", views.my_attendance_csv, name="my_attendance_csv"),
    path("<int:pk>/", views.profile, name="profile"),
    path("places/<slug:slug>/", views.place_directory, name="place_directory"),
    path("networks/<slug:slug>/", views.network_directory, name="network_directory"),
    path("places/<slug:slug>/here/", views.here, name="here"),
    path("places/<slug:slug>/checkin/", views.self_checkin, name="self_checkin"),
    # The team's pages.
    path("places/<slug:slug>/manage/", manage_views.members, name="manage"),
    path("places/<slug:slug>/manage/plans/", manage_views.plans, name="plans"),
    path("places/<slug:slug>/manage/plans/new/", manage_views.plan_edit, name="plan_new"),
    path("places/<slug:slug>/manage/plans/<int:pk>/", manage_views.plan_edit, name="plan_edit"),
    path("places/<slug:slug>/manage/give/", manage_views.membership_new, name="membership_new"),
    path(
        "places/<slug:slug>/manage/memberships/<int:pk>/",
        manage_views.membership_detail,
        name="membership",
    ),
    path("places/<slug:slug>/manage/attendance/", manage_views.attendance, name="attendance"),
    path("places/<slug:slug>/manage/exports/<str:what>.csv", manage_views.export, name="export"),
    path("networks/<slug:slug>/ledger/", manage_views.network_ledger, name="network_ledger"),
    # Presence at the door.
    path("places/<slug:slug>/manage/presence/", kiosk_views.presence, name="presence"),
    path("places/<slug:slug>/manage/kiosk/", kiosk_views.kiosk_setup, name="kiosk_setup"),
    path("kiosk/<str:token>/", kiosk_views.kiosk, name="kiosk"),
    path("kiosk/<str:token>/qr.svg", kiosk_views.kiosk_qr, name="kiosk_qr"),
]
