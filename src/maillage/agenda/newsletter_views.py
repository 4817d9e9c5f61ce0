"""The newsletter's pages: sign-up, confirmation (double opt-in), unsubscribe (with the one-click
POST of RFC 8058 that mail clients send) and the digest as a web page. Rules live in
services.py (subscriptions) and newsletter.py (what a digest holds)."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from maillage.core.middleware import too_many_requests
from maillage.core.ratelimit import hit_request, parse_rate
from maillage.places.models import Network, Place

from . import newsletter, services
from .newsletter_forms import DigestForm, PlaceFilterForm, SubscribeForm


def _private(response):
    """Pages reached by a secret link: kept by no shared cache, search engine or other site."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Not "no-referrer": browsers then send "Origin: null" with the page's own forms, which
    # Django's CSRF check refuses. "same-origin" keeps the address from other sites all the same.
    response["Referrer-Policy"] = "same-origin"
    return response


def _initial(request) -> dict:
    """A link from a network's or a place's page preselects it (?network=SLUG or ?place=SLUG)."""
    network = Network.objects.filter(slug=request.GET.get("network", "")).first()
    if network is not None:
        return {"scope": "network", "network": network.slug}
    place = Place.objects.filter(slug=request.GET.get("place", ""), is_published=True).first()
    if place is not None:
        return {"scope": "places", "places": [place.pk]}
    if "places_of" in request.GET or "find" in request.GET:  # the places' filter was used
        return {"scope": "places"}
    return {}


def _count_attempt(request):
    limit, window = parse_rate(settings.MAILLAGE_REGISTRATIONS_PER_IP)
    return hit_request(request, "agenda.subscribe", limit=limit, window_seconds=window)


@require_http_methods(["GET", "POST"])
def subscribe(request):
    form = SubscribeForm(request.POST or None, initial=_initial(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            limit = _count_attempt(request)
            if not limit.allowed:
                return too_many_requests(request, limit.retry_after)
            data = form.cleaned_data
            try:
                subscription = services.subscribe(
                    email=data["email"],
                    language=data["language"],
                    network=data["network"],
                    places=data["places"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return render(request, "agenda/newsletter_sent.html", {"email": subscription.email})
    filter_form = PlaceFilterForm(
        {key: request.GET[key] for key in ("places_of", "find") if key in request.GET} or None
    )
    listed, cut = filter_form.places()
    form.show_places(listed)
    return render(
        request,
        "agenda/newsletter.html",
        {"form": form, "filter_form": filter_form, "cut": cut},
        status=status,
    )


def _subscription(secret: str):
    subscription = services.subscription_by_secret(secret)
    if subscription is None:
        raise Http404
    return subscription


@require_http_methods(["GET", "POST"])
def confirm(request, secret):
    subscription = _subscription(secret)
    just_confirmed = False
    if request.method == "POST":
        just_confirmed = subscription.confirmed_at is None
        services.subscription_confirm(subscription)
    places = list(subscription.places.order_by("name"))
    query = newsletter.digest_query(network=subscription.network, places=places)
    context = {
        "subscription": subscription,
        "places": places,
        "just_confirmed": just_confirmed,
        "secret": secret,
        "digest_url": reverse("agenda:digest") + "?" + query,
        "unsubscribe_url": reverse(
            "agenda:newsletter_unsubscribe",
            kwargs={"secret": services.subscription_secret(subscription)},
        ),
    }
    return _private(render(request, "agenda/newsletter_confirm.html", context))


# Mail clients offering one-click unsubscribe (RFC 8058) POST "List-Unsubscribe=One-Click" to the
# address of the List-Unsubscribe header, without a CSRF token: the signed secret of the
# address is what authorises the request.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, secret):
    subscription = _subscription(secret)
    if request.method == "POST":
        email = subscription.email
        services.unsubscribe(subscription)
        response = render(request, "agenda/newsletter_unsubscribe.html", {"done_email": email})
    else:
        response = render(
            request,
            "agenda/newsletter_unsubscribe.html",
            {"subscription": subscription, "secret": secret},
        )
    return _private(response)


@require_safe
def digest(request):
    form = DigestForm(request.GET)
    if not request.GET.get("network") and not request.GET.getlist("place"):
        networks = Network.objects.order_by("name")
        return render(request, "agenda/newsletter_digest.html", {"networks": networks})
    if not form.is_valid():
        return render(request, "agenda/newsletter_digest.html", {"form": form}, status=400)
    network, places = form.cleaned_data["network"], list(form.cleaned_data["place"])
    weeks = form.cleaned_data["weeks"]
    language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    events = newsletter.digest_events(
        network=network, places=places, now=timezone.now(), weeks=weeks
    )
    name = newsletter.digest_name(network=network, places=places if network is None else ())
    subscribe_query = {"network": network.slug} if network else {"place": places[0].slug}
    return render(
        request,
        "agenda/newsletter_digest.html",
        {
            "form": form,
            "name": name,
            "title": _("Coming events: %(name)s") % {"name": name},
            "weeks": weeks,
            "items": newsletter.digest_items(events, language),
            "subscribe_url": reverse("agenda:newsletter") + "?" + urlencode(subscribe_query),
        },
    )
