"""The RSS 2.0 feed of the projects and opportunities board, with the board's own filters as
query parameters, so that any view of the board can be followed in a feed reader:

    network=SLUG  place=SLUG  kind=CODE  skill=CODE or words  q=WORDS

Without `place`, the network-wide posts (of one network's places with `network`); with it, every
post of that place. An unknown place or network answers 404, an unknown kind is ignored. The
feed is public: it lists what an anonymous visitor sees (open posts, never hidden ones, nothing
of an unpublished place), newest first, at most MAX_ITEMS.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.text import Truncator, capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from maillage.core.api import is_slug
from maillage.core.html import html_to_text
from maillage.places.models import Network, Place

from . import board
from .models import Opportunity
from .selectors import display_name

MAX_ITEMS = 100
EXCERPT_WORDS = 80
CACHE_SECONDS = 15 * 60
FILTERS = ("network", "place", "kind", "skill", "q")


def _named(model, slug: str):
    """The place or network of a slug given in the query; 404 when there is none."""
    found = model.objects.filter(slug=slug).first() if is_slug(slug) else None
    if found is None:
        raise Http404
    return found


def _description(post: Opportunity) -> str:
    """Plain text (the feed writer escapes it): kind, place, deadline, then the words."""
    facts = [capfirst(post.get_kind_display()), post.place.name]
    if post.deadline:
        facts.append(_("Deadline: %(day)s") % {"day": post.deadline.isoformat()})
    skills = [item["label"] for item in board.skill_labels(post)]
    if skills:
        facts.append(_("Skills wanted: %(skills)s") % {"skills": ", ".join(skills)})
    text = " ".join(html_to_text(post.body).split())
    parts = [" · ".join(facts)]
    if text:
        parts.append(Truncator(text).words(EXCERPT_WORDS))
    return "\n\n".join(parts)


@require_safe
def rss(request):
    params = {key: request.GET.get(key, "").strip() for key in FILTERS}
    place = _named(Place, params["place"]) if params["place"] else None
    network = _named(Network, params["network"]) if params["network"] else None
    if place is not None and not place.is_published:
        raise Http404
    kind = params["kind"] if params["kind"] in board.KINDS else None
    posts = board.board_for(
        place=place,
        network=None if place is not None else network,
        kind=kind,
        skill=params["skill"][:200] or None,
        q=params["q"][:200],
        viewer=AnonymousUser(),
    )[:MAX_ITEMS]
    owner = place.name if place else network.name if network else settings.MAILLAGE_SITE_NAME
    query = {key: value for key, value in params.items() if value}
    if kind is None:
        query.pop("kind", None)
    if place is not None:
        page = reverse("community:board_place", kwargs={"slug": place.slug})
        query.pop("place", None)
        query.pop("network", None)
    elif network is not None:
        page = reverse("community:board_network", kwargs={"slug": network.slug})
        query.pop("network", None)
    else:
        page = reverse("community:board")
    if query:
        page += "?" + urlencode(query)
    feed = Rss201rev2Feed(
        title=_("Projects and opportunities · %(name)s") % {"name": owner},
        link=request.build_absolute_uri(page),
        description=_(
            "Projects seeking collaborators, calls for tenders, jobs, internships and calls "
            "for volunteers."
        ),
        language=(get_language() or settings.LANGUAGE_CODE)[:2],
        feed_url=request.build_absolute_uri(),
    )
    for post in posts:
        url = request.build_absolute_uri(board.post_url(post))
        feed.add_item(
            title=post.title,
            link=url,
            description=_description(post),
            unique_id=url,
            unique_id_is_permalink=True,
            pubdate=post.created_at,
            author_name=display_name(post.author),
            categories=[capfirst(post.get_kind_display())],
        )
    response = HttpResponse(
        feed.writeString("utf-8"), content_type="application/rss+xml; charset=utf-8"
    )
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response
