"""Pages of the projects and opportunities board: the boards (every network, a place, a
network), a post with its private replies, posting, changing and closing, and the RSS feed.
Thin: forms validate, community.board decides and writes."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.places.models import Network, Place

from . import board, board_feeds, throttle
from .board_forms import BoardFilterForm, OpportunityForm, ReplyForm
from .models import Opportunity

PAGE_SIZE = 20


def _service_errors(form, error: ValidationError) -> None:
    """Put the errors of the services next to the fields they are about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _card(post: Opportunity) -> dict:
    return {
        "post": post,
        "skills": board.skill_labels(post),
        "is_open": board.is_open(post),
        "expired": board.is_expired(post),
    }


# Boards -----------------------------------------------------------------------------------------


def _board(request, *, place: Place | None = None, network: Network | None = None):
    scoped = place is not None or network is not None
    form = BoardFilterForm(request.GET, scoped=scoped)
    context = {
        "form": form,
        "place": place,
        "network": network,
        "can_post": board.posting_places(request.user).exists(),
    }
    if not form.is_valid():
        return render(request, "community/board/list.html", context, status=400)
    data = form.cleaned_data
    if not scoped and data.get("place"):
        place = Place.objects.filter(slug=data["place"]).first()
        if place is None or not board.can_see_place(request.user, place):
            form.add_error("place", _("There is no such place."))
            return render(request, "community/board/list.html", context, status=400)
        context["place"] = place
    if not scoped and data.get("network") and place is None:
        network = data["network"]
        context["network"] = network
    posts = board.board_for(
        place=place,
        network=network,
        kind=data["kind"] or None,
        skill=data["skill"] or None,
        q=data["q"],
        include_closed=data["include_closed"],
        viewer=request.user,
    )
    page = Paginator(posts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    feed = {
        key: value
        for key, value in (
            ("network", network.slug if network else ""),
            ("place", place.slug if place else ""),
            ("kind", data["kind"]),
            ("skill", data["skill"]),
            ("q", data["q"]),
        )
        if value
    }
    context |= {
        "page": page,
        "cards": [_card(post) for post in page],
        "page_query": query.urlencode(),
        "feed_query": urlencode(feed),
        "filtered": bool(data["kind"] or data["skill"] or data["q"] or data["include_closed"]),
        "scoped": scoped,
    }
    return render(request, "community/board/list.html", context)


@require_safe
def board_all(request):
    return _board(request)


@require_safe
def board_place(request, slug):
    place = get_object_or_404(Place, slug=slug)
    if not board.can_see_place(request.user, place):
        raise Http404
    return _board(request, place=place)


@require_safe
def board_network(request, slug):
    return _board(request, network=get_object_or_404(Network, slug=slug))


# A post -----------------------------------------------------------------------------------------


def _visible_or_404(request, pk: int) -> Opportunity:
    post = board.visible_post(request.user, pk)
    if post is None:
        raise Http404
    return post


def _detail(request, post: Opportunity, *, reply_form=None, status=200):
    user = request.user
    is_author = user.is_authenticated and post.author_id == user.pk
    can_reply = board.can_reply(user, post)
    context = {
        "post": post,
        "card": _card(post),
        "is_author": is_author,
        "can_reply": can_reply,
        "reply_form": reply_form or (ReplyForm() if can_reply else None),
        "replies": list(board.replies_for(user, post)),
    }
    return render(request, "community/board/detail.html", context, status=status)


@require_safe
def board_post(request, pk):
    return _detail(request, _visible_or_404(request, pk))


@login_required
@require_POST
def board_reply(request, pk):
    post = _visible_or_404(request, pk)
    if post.is_hidden:
        raise Http404
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail(request, post, reply_form=form, status=400)
    try:
        board.reply_send(post=post, sender=request.user, body=form.cleaned_data["body"])
    except Opportunity.DoesNotExist:
        raise Http404 from None
    except board.BoardConflict as error:
        form.add_error(None, error)
        return _detail(request, post, reply_form=form, status=409)
    except ValidationError as error:
        _service_errors(form, error)
        return _detail(request, post, reply_form=form, status=400)
    messages.success(request, _("Your reply was sent to the author. Only they read it."))
    return redirect(board.post_url(post))


# Posting, changing, closing ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def board_new(request):
    places = list(board.posting_places(request.user))
    status = 200
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = OpportunityForm(request.POST, places=board.posting_places(request.user))
        if form.is_valid():
            try:
                post = board.opportunity_create(
                    author=request.user,
                    place=form.cleaned_data["place"],
                    **form.service_arguments(),
                )
            except PermissionError:
                form.add_error("place", _("You may post only at the places where you have a role."))
            except ValidationError as error:
                _service_errors(form, error)
            else:
                messages.success(request, _("Your post is on the board."))
                return redirect(board.post_url(post))
        status = 400
    else:
        form = OpportunityForm(places=board.posting_places(request.user))
    context = {"form": form, "places": places, "post": None}
    return render(request, "community/board/form.html", context, status=status)


def _own_or_404(request, pk: int) -> Opportunity:
    post = board.own_post(request.user, pk)
    if post is None:
        raise Http404
    return post


@login_required
@require_http_methods(["GET", "POST"])
def board_edit(request, pk):
    post = _own_or_404(request, pk)
    if post.closed_at is not None:
        messages.error(request, _("This post is closed: it can no longer be changed."))
        return redirect(board.post_url(post))
    status = 200
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = OpportunityForm(request.POST)
        if form.is_valid():
            try:
                board.opportunity_update(post=post, actor=request.user, **form.service_arguments())
            except ValidationError as error:
                _service_errors(form, error)
            else:
                messages.success(request, _("Your post is saved."))
                return redirect(board.post_url(post))
        status = 400
    else:
        form = OpportunityForm(initial=OpportunityForm.initial_for(post))
    return render(request, "community/board/form.html", {"form": form, "post": post}, status=status)


@login_required
@require_POST
def board_close(request, pk):
    post = _own_or_404(request, pk)
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    try:
        board.opportunity_close(post=post, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your post is closed: it takes no more replies."))
    return redirect(board.post_url(post))


urlpatterns = [
    path("board/", board_all, name="board"),
    path("board/new/", board_new, name="board_new"),
    path("board/feed.rss", board_feeds.rss, name="board_feed"),
    path("board/<int:pk>/", board_post, name="board_post"),
    path("board/<int:pk>/reply/", board_reply, name="board_reply"),
    path("board/<int:pk>/edit/", board_edit, name="board_edit"),
    path("board/<int:pk>/close/", board_close, name="board_close"),
    path("places/<slug:slug>/board/", board_place, name="board_place"),
    path("networks/<slug:slug>/board/", board_network, name="board_network"),
]
