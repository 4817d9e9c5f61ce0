"""Pages of the skills exchange: the list with its filters, posting an offer or a request, a post
with its matches, private replies and thanks (for its author) or the reply form (for others),
editing and closing. Thin: forms validate, exchange.py writes and matches, permissions decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.places.models import Network, Place

from . import exchange, permissions, selectors, throttle
from .exchange_forms import ExchangeFilterForm, ReplyForm, SkillPostForm, ThanksForm
from .models import SkillPost

PAGE_SIZE = 20


def _cards(posts) -> list[dict]:
    return [{"post": post, "skills": exchange.skill_labels(post)} for post in posts]


def _service_errors(form, error: ValidationError) -> None:
    """Put the errors of a service next to the fields they are about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        target = name if name in form.fields else None
        if name == "skills" and "skills" not in form.fields:
            target = None
        form.add_error(target, errors)


def _post_or_404(request, pk: int) -> SkillPost:
    post = get_object_or_404(
        SkillPost.objects.select_related("place", "author").prefetch_related("skills"), pk=pk
    )
    if not exchange.can_see(request.user, post):
        raise Http404
    return post


def _own_post_or_404(request, pk: int) -> SkillPost:
    post = get_object_or_404(
        SkillPost.objects.select_related("place", "author").prefetch_related("skills"), pk=pk
    )
    if not permissions.can_edit_post(request.user, post):
        raise Http404
    return post


# The list -------------------------------------------------------------------------------------


@require_safe
def exchange_list(request):
    form = ExchangeFilterForm(request.GET)
    filters = exchange.ExchangeFilters()
    if form.is_valid():
        filters = exchange.ExchangeFilters(
            **{
                name: form.cleaned_data[name] or ""
                for name in ("kind", "skill", "place", "network", "q")
            }
        )
    page = Paginator(exchange.search(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    place = (
        Place.objects.filter(slug=filters.place, is_published=True).first()
        if filters.place
        else None
    )
    network = Network.objects.filter(slug=filters.network).first() if filters.network else None
    return render(
        request,
        "community/exchange/list.html",
        {
            "form": form,
            "page": page,
            "cards": _cards(page.object_list),
            "page_query": query.urlencode(),
            "place": place,
            "network": network,
            "filtered": any(
                (filters.kind, filters.skill, filters.place, filters.network, filters.q)
            ),
        },
    )


# Posting --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def exchange_new(request):
    places = permissions.postable_places(request.user)
    if not places.exists():
        return render(request, "community/exchange/form.html", {"form": None, "post": None})
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = SkillPostForm(request.POST, places=places)
        if form.is_valid():
            data = form.cleaned_data
            try:
                post = exchange.skillpost_create(
                    author=request.user,
                    place=data["place"],
                    kind=data["kind"],
                    title=data["title"],
                    body=data["body"],
                    skills=data["skills"],
                    free_tags=data["free_tags"],
                )
            except PermissionError:
                form.add_error(
                    "place", _("You can post only at the places where you are a member.")
                )
            except ValidationError as error:
                _service_errors(form, error)
            else:
                messages.success(request, _("Your post is online."))
                return redirect(exchange.post_path(post))
    else:
        initial = {"kind": request.GET.get("kind") or SkillPost.Kind.OFFER}
        chosen = places.filter(slug=request.GET.get("place", "")).first()
        if chosen is None and places.count() == 1:
            chosen = places.first()
        if chosen is not None:
            initial["place"] = chosen.pk
        form = SkillPostForm(initial=initial, places=places)
    return render(request, "community/exchange/form.html", {"form": form, "post": None})


@login_required
@require_http_methods(["GET", "POST"])
def exchange_edit(request, pk: int):
    post = _own_post_or_404(request, pk)
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = SkillPostForm(request.POST, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                exchange.skillpost_update(
                    post=post,
                    actor=request.user,
                    title=data["title"],
                    body=data["body"],
                    skills=data["skills"],
                    free_tags=data["free_tags"],
                )
            except ValidationError as error:
                _service_errors(form, error)
            else:
                messages.success(request, _("Your post is saved."))
                return redirect(exchange.post_path(post))
    else:
        form = SkillPostForm(initial=SkillPostForm.initial_for(post), editing=True)
    return render(request, "community/exchange/form.html", {"form": form, "post": post})


@login_required
@require_POST
def exchange_close(request, pk: int):
    post = _own_post_or_404(request, pk)
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    try:
        exchange.skillpost_close(post=post, actor=request.user)
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your post is closed: it no longer receives replies."))
    return redirect(exchange.post_path(post))


# A post ---------------------------------------------------------------------------------------


def _thanks_form(post: SkillPost, data=None) -> ThanksForm | None:
    thanked = exchange.thanked_ids(post)
    people = [
        (person.pk, selectors.display_name(person))
        for person in exchange.repliers(post)
        if person.pk not in thanked
    ]
    return ThanksForm(data, people=people, prefix="thanks") if people else None


def _reply(request, post: SkillPost):
    form = ReplyForm(request.POST, prefix="reply")
    if form.is_valid():
        try:
            exchange.reply_send(post=post, sender=request.user, body=form.cleaned_data["body"])
        except SkillPost.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(
                request, _("Your message is sent. The author will answer you by email or here.")
            )
            return None, redirect(exchange.post_path(post) + "#my-replies")
    return form, None


def _thank(request, post: SkillPost):
    form = _thanks_form(post, request.POST)
    if form is None:
        messages.info(request, _("Nobody left to thank: thank those who replied to you."))
        return None, redirect(exchange.post_path(post))
    if form.is_valid():
        receiver = next(
            person
            for person in exchange.repliers(post)
            if person.pk == form.cleaned_data["receiver"]
        )
        try:
            exchange.thanks_give(
                post=post,
                giver=request.user,
                receiver=receiver,
                message=form.cleaned_data["message"],
            )
        except SkillPost.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(
                request,
                _("Your thanks are sent to %(name)s. The exchange is closed.")
                % {"name": selectors.display_name(receiver)},
            )
            return None, redirect(exchange.post_path(post))
    return form, None


@require_http_methods(["GET", "POST"])
def exchange_post(request, pk: int):
    post = _post_or_404(request, pk)
    user = request.user
    is_author = permissions.can_edit_post(user, post)
    reply_form = thanks_form = None
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        action = request.POST.get("action")
        if action == "thanks" and is_author:
            thanks_form, done = _thank(request, post)
        elif action == "reply" and not is_author:
            reply_form, done = _reply(request, post)
        else:
            done = redirect(exchange.post_path(post))
        if done is not None:
            return done
    is_open = post.closed_at is None
    context = {
        "post": post,
        "skills": exchange.skill_labels(post),
        "author_name": selectors.display_name(post.author),
        "is_author": is_author,
        "is_open": is_open,
        "radius": exchange.MATCH_RADIUS_KM,
        "replies": exchange.replies_for(user, post) if user.is_authenticated else [],
    }
    if is_author:
        context |= {
            "matches": exchange.matches_for(post, viewer=user)
            if is_open and not post.is_hidden
            else [],
            "thanks_form": thanks_form or _thanks_form(post),
            "thanks": post.thanks.select_related("receiver").order_by("created_at"),
        }
    elif user.is_authenticated and is_open and not post.is_hidden:
        context["reply_form"] = reply_form or ReplyForm(prefix="reply")
    return render(request, "community/exchange/detail.html", context)


urlpatterns = [
    path("skills/", exchange_list, name="exchange"),
    path("skills/new/", exchange_new, name="exchange_new"),
    path("skills/<int:pk>/", exchange_post, name="exchange_post"),
    path("skills/<int:pk>/edit/", exchange_edit, name="exchange_edit"),
    path("skills/<int:pk>/close/", exchange_close, name="exchange_close"),
]
