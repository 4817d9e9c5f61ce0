import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.i18n import set_language as django_set_language

from . import failures

logger = logging.getLogger("maillage.health")


def set_language(request):
    """Django's language switch, which also remembers the choice on the person's account.

    The account's language is the one their emails are written in.
    """
    response = django_set_language(request)
    language = request.POST.get("language")
    user = request.user
    if (
        request.method == "POST"
        and user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and user.language != language
    ):
        user.language = language
        user.save(update_fields=["language"])
    return response


def healthz(request):
    """For load balancers and monitoring: 200 "ok" when the database and the cache answer, 503
    naming what does not otherwise. Reads no session; never cached."""
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("Health check: the database does not answer")
        problems.append("database")
    try:
        key = f"healthz:{uuid.uuid4().hex}"
        cache.set(key, "ok", timeout=10)
        if cache.get(key) != "ok":
            raise RuntimeError("the cache did not keep a value")
        cache.delete(key)
    except Exception:
        logger.exception("Health check: the cache does not answer")
        problems.append("cache")
    if problems:
        response = HttpResponse(
            f"unavailable: {', '.join(problems)}", status=503, content_type="text/plain"
        )
        response["Retry-After"] = str(failures.RETRY_AFTER_SECONDS)
    else:
        response = HttpResponse("ok", content_type="text/plain")
    add_never_cache_headers(response)
    return response


def page_not_found(request, exception):
    """404: the API answers in its JSON shape, pages with the site's layout."""
    if request.path.startswith(failures.API_PREFIX):
        return JsonResponse({"message": _("Not found."), "details": {}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: a static page (or the API's JSON), rendered without the request so that nothing is
    queried while saying that something went wrong."""
    if request.path.startswith(failures.API_PREFIX):
        return JsonResponse(
            {"message": _("Something went wrong on our side."), "details": {}}, status=500
        )
    html = render_to_string("500.html", {"site_name": settings.MAILLAGE_SITE_NAME})
    return HttpResponseServerError(html)
