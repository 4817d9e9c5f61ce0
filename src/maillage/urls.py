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
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # Small installations run without a front web server; a proxy may serve /media/ itself.
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
