"""Pages of the idea box: a place's box (sorted by votes or newest, filtered by status), posting
an idea, an idea's page with the team's answer form, and the vote button (a plain POST form, so
it works without JavaScript). Thin: forms check the shape, ideas.py decides and writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.places.models import Place
from maillage.places.permissions import place_access

from . import ideas, permissions, throttle
from .ideas_forms import AnswerForm, IdeaFilterForm, IdeaForm
from .models import Idea

PAGE_SIZE = 20


def _published_place(slug: str) -> Place:
    return get_object_or_404(Place, slug=slug, is_published=True)


def _readable(request, pk: int) -> Idea:
    idea = ideas.readable_idea(request.user, pk)
    if idea is None:
        raise Http404
    return idea


def _show_errors(form, error: ValidationError) -> None:
    """Put a service's errors next to the fields they are about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _back(request, idea: Idea):
    """Back to the page the vote was given from (only this site's), else the idea's page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("community:idea", pk=idea.pk)


# The box of a place ----------------------------------------------------------------------------


@require_safe
def box(request, slug):
    place = _published_place(slug)
    form = IdeaFilterForm(request.GET)
    status, order = form.chosen()
    found = ideas.ideas_for(place, user=request.user, status=status or None, order=order)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"status": status} if status else {}
    if order != "votes":
        query["order"] = order
    context = {
        "place": place,
        "form": form,
        "page": page,
        "ideas": page.object_list,
        "voted": ideas.voted_ids(request.user, page.object_list),
        "may_vote": permissions.can_vote_at(request.user, place),
        "is_team": permissions.can_moderate_place(request.user, place),
        "filtered": bool(status),
        "page_query": urlencode(query),
    }
    return render(request, "community/ideas/box.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request, slug):
    place = _published_place(slug)
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = IdeaForm(request.POST)
        if form.is_valid():
            try:
                idea = ideas.idea_post(
                    author=request.user,
                    place=place,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                _show_errors(form, error)
            except PermissionError:
                raise PermissionDenied from None
            else:
                messages.success(
                    request, _("Your idea is posted. The team of the place has been told.")
                )
                return redirect("community:idea", pk=idea.pk)
        status = 400
    else:
        form = IdeaForm()
        status = 200
    context = {
        "place": place,
        "form": form,
        "may_vote": permissions.can_vote_at(request.user, place),
    }
    return render(request, "community/ideas/new.html", context, status=status)


# One idea --------------------------------------------------------------------------------------


def _idea_page(request, idea: Idea, *, answer_form=None, status=200):
    team = permissions.can_answer_idea(request.user, idea)
    if team and answer_form is None and not idea.is_hidden:
        answer_form = AnswerForm(initial={"status": idea.status, "answer": idea.answer})
    context = {
        "idea": idea,
        "place": idea.place,
        "voted": ideas.has_voted(request.user, idea),
        "may_vote": permissions.can_vote_at(request.user, idea.place),
        "is_team": team,
        "answer_form": answer_form if team and not idea.is_hidden else None,
    }
    return render(request, "community/ideas/detail.html", context, status=status)


@require_safe
def detail(request, pk):
    return _idea_page(request, _readable(request, pk))


@login_required
@require_http_methods(["GET", "POST"])
def vote(request, pk):
    idea = _readable(request, pk)
    if request.method == "GET":
        # Back from the login page: the vote was a POST, show the idea to vote again.
        return redirect("community:idea", pk=idea.pk)
    action = request.POST.get("action", "vote")
    if action not in ("vote", "unvote"):
        raise Http404
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    try:
        if action == "vote":
            ideas.idea_vote(idea=idea, user=request.user)
            messages.success(request, _("Your vote is counted."))
        elif ideas.idea_unvote(idea=idea, user=request.user):
            messages.success(request, _("Your vote is taken back."))
        else:
            messages.info(request, _("You had not voted for this idea."))
    except Idea.DoesNotExist:
        raise Http404 from None
    except PermissionError:
        raise PermissionDenied from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _back(request, idea)


@login_required
@require_POST
def answer(request, pk):
    idea = _readable(request, pk)
    if not permissions.can_answer_idea(request.user, idea):
        # The place's other people know it; anyone else is answered as if it did not exist.
        if place_access(request.user, idea.place) == "role":
            raise PermissionDenied
        raise Http404
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            ideas.idea_answer(
                idea=idea,
                actor=request.user,
                status=form.cleaned_data["status"],
                answer=form.cleaned_data["answer"],
            )
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(
                request, _("Your answer is saved; the author and the voters are told.")
            )
            return redirect("community:idea", pk=idea.pk)
    return _idea_page(request, idea, answer_form=form, status=400)


urlpatterns = [
    path("places/<slug:slug>/ideas/", box, name="ideas"),
    path("places/<slug:slug>/ideas/new/", new, name="ideas_new"),
    path("ideas/<int:pk>/", detail, name="idea"),
    path("ideas/<int:pk>/vote/", vote, name="idea_vote"),
    path("ideas/<int:pk>/answer/", answer, name="idea_answer"),
]
