from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

from maillage.api import api
from maillage.core import views as core_views
from maillage.places import views as place_views

urlpatterns = [
    path("", place_views.home, name="home"),
    path("places/", include("maillage.places.urls")),
    path("bookings/", include("maillage.bookings.urls")),
    path("agenda/", include("maillage.agenda.urls")),
    path("members/", include("maillage.members.urls")),
    path("community/", include("maillage.community.urls")),
    path("impact/", include("maillage.impact.urls")),
    path("privacy/", include("maillage.privacy.urls")),
    path("archives/", include("maillage.archives.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("maillage.accounts.urls")),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Load balancers and monitoring: 200 "ok" when the database and the cache answer.
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # Small installations run without a front web server; a proxy may serve /media/ itself.
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

# Error pages that need no database (templates/404.html, 500.html); JSON under /api/.
handler404 = "maillage.core.views.page_not_found"
handler500 = "maillage.core.views.server_error"
