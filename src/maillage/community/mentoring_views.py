"""Mentoring pages: asking a question (with or without an account), the asker's page behind the
secret link of their emails, the mentor's opt-in and queue, a request's page for mentors and the
place's team (answers, consent check, connection, moderation) and the team's queue. Thin: forms
validate, community.mentoring writes and reads, permissions decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from maillage.places.models import Place

from . import mentoring, permissions, selectors, throttle
from .mentoring_forms import AnswerForm, AskForm, ConnectForm, ConsentForm, MentorForm
from .models import MentoringRequest

PAGE_SIZE = 20
# The address an anonymous asker gave, kept in their session for the "check your email" page.
SENT_KEY = "community.mentoring.sent"


def _show_errors(form, error: ValidationError) -> None:
    """Put the errors of a service next to the fields they are about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _private(response: HttpResponse) -> HttpResponse:
    """A secret address: not for search engines, shared caches or other sites' logs."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _secret_path(found: MentoringRequest) -> str:
    return reverse(
        "community:mentoring_request", kwargs={"secret": mentoring.request_secret(found)}
    )


# Asking ---------------------------------------------------------------------------------------


def _ask_page(request, form: AskForm, *, status: int = 200):
    user = request.user
    mine = [
        {"request": found, "url": _secret_path(found)}
        for found in mentoring.asker_requests(user)[:PAGE_SIZE]
    ]
    context = {
        "form": form,
        "mine": mine,
        "is_mentor": permissions.is_mentor(user),
        "can_become_mentor": permissions.can_become_mentor(user),
        "team_places": permissions.moderated_places(user).order_by("name")[:PAGE_SIZE],
    }
    return render(request, "community/mentoring/ask.html", context, status=status)


@require_http_methods(["GET", "POST"])
def ask(request):
    user = request.user if request.user.is_authenticated else None
    if request.method == "GET":
        sent_to = request.session.pop(SENT_KEY, None)
        if sent_to:
            return render(request, "community/mentoring/sent.html", {"email": sent_to})
        return _ask_page(request, AskForm(user=user, place=request.GET.get("place", "")))
    form = AskForm(request.POST, user=user)
    if not form.is_valid():
        return _ask_page(request, form, status=400)
    if refusal := throttle.page_refusal(request, throttle.asking(request)):
        return refusal
    try:
        found = form.ask()
    except ValidationError as error:
        _show_errors(form, error)
        return _ask_page(request, form, status=400)
    if user is not None:
        messages.success(request, _("Your question is recorded."))
        return _private(redirect(_secret_path(found)))
    request.session[SENT_KEY] = found.email
    return redirect("community:mentoring")


# The asker's page -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def asker_page(request, secret):
    """Whoever holds the link of the emails: confirm the address (a button, so that the link
    scanners of mail services confirm nothing), follow the answers, close the question."""
    found = mentoring.request_by_secret(secret)
    if found is None:
        raise Http404
    here = reverse("community:mentoring_request", kwargs={"secret": secret})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "confirm":
            if found.status == MentoringRequest.Status.UNCONFIRMED:
                mentoring.request_confirm(secret)
                messages.success(request, _("Thank you: your address is confirmed."))
            return _private(redirect(here))
        if action == "close":
            try:
                mentoring.request_close(request=found, secret=secret)
            except mentoring.MentoringConflict as conflict:
                messages.info(request, " ".join(conflict.messages))
            else:
                messages.success(request, _("Your question is closed. Thank you!"))
            return _private(redirect(here))
        messages.error(request, _("Choose to confirm your address or to close your question."))
        status = 400
    context = {
        "mentoring": found,
        "answers": mentoring.answers_for_asker(found),
        "field_labels": mentoring.field_labels(found.fields),
        "mentor_name": found.mentor and selectors.display_name(found.mentor),
        "Status": MentoringRequest.Status,
    }
    return _private(render(request, "community/mentoring/asker.html", context, status=status))


# Mentors --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def become(request):
    user = request.user
    record = mentoring.mentor_of(user)
    allowed = permissions.can_become_mentor(user)
    status = 200
    if request.method == "POST":
        form = MentorForm(request.POST)
        if not allowed:
            raise PermissionDenied
        if form.is_valid():
            try:
                mentoring.mentor_save(
                    user=user,
                    fields=form.codes(),
                    about=form.cleaned_data["about"],
                    is_active=form.cleaned_data["is_active"],
                )
            except ValidationError as error:
                _show_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Thank you: you are a mentor now.")
                    if form.cleaned_data["is_active"]
                    else _("Saved: you are taking a break from mentoring."),
                )
                return redirect("community:mentoring_become")
        status = 400
    else:
        form = MentorForm(initial=MentorForm.initial_for(record))
    context = {"form": form, "record": record, "allowed": allowed}
    return render(request, "community/mentoring/become.html", context, status=status)


@login_required
@require_safe
def mentor_queue(request):
    user = request.user
    page = Paginator(mentoring.requests_for_mentor(user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "is_mentor": permissions.is_mentor(user),
        "record": mentoring.mentor_of(user),
    }
    return render(request, "community/mentoring/queue.html", context)


# A request, for mentors and the team ----------------------------------------------------------


def _detail_page(request, found: MentoringRequest, *, forms=None, status: int = 200):
    user = request.user
    team = permissions.can_moderate_request(user, found)
    forms = forms or {}
    can_answer = permissions.can_answer_request(user, found)
    context = {
        "mentoring": found,
        "team": team,
        "first_name": mentoring.asker_first_name(found),
        "sees_email": permissions.sees_asker_email(user, found),
        "field_labels": mentoring.field_labels(found.fields),
        "answers": mentoring.answers_visible_to(user, found),
        "answer_form": forms.get("answer") or (AnswerForm() if can_answer else None),
        "consent_form": forms.get("consent")
        or (
            ConsentForm()
            if team and found.status == MentoringRequest.Status.AWAITING_CONSENT
            else None
        ),
        "connect_form": forms.get("connect")
        or (
            ConnectForm(mentoring_request=found)
            if team and found.status == MentoringRequest.Status.OPEN and not found.is_hidden
            else None
        ),
        "mentor_name": found.mentor and selectors.display_name(found.mentor),
        "can_close": team and found.status != MentoringRequest.Status.CLOSED,
        "Status": MentoringRequest.Status,
    }
    return render(request, "community/mentoring/detail.html", context, status=status)


def _conflict(request, found, conflict: ValidationError, forms=None):
    messages.error(request, " ".join(conflict.messages))
    return _detail_page(request, found, forms=forms, status=409)


@login_required
@require_http_methods(["GET", "POST"])
def detail(request, pk):
    user = request.user
    found = get_object_or_404(MentoringRequest.objects.select_related("place", "mentor"), pk=pk)
    if not permissions.can_see_request(user, found):
        closed_under_them = (
            request.method == "POST"
            and request.POST.get("action") == "answer"
            and permissions.knew_request(user, found)
        )
        if not closed_under_them:
            raise Http404
        # Closed while the mentor was writing: say so (a page they cannot see any more).
        messages.error(request, _("This request is closed: answers are no longer possible."))
        return redirect("community:mentoring_requests")
    team = permissions.can_moderate_request(user, found)
    if found.asker_id == user.pk and not team and not permissions.is_mentor(user):
        # The asker reads their request (answers, closing) on the page of their emails.
        return _private(redirect(_secret_path(found)))
    if request.method == "GET":
        return _detail_page(request, found)
    here = reverse("community:mentoring_detail", kwargs={"pk": found.pk})
    action = request.POST.get("action")
    if action == "answer":
        return _answer(request, found, here)
    if action in ("consent", "connect", "close") and not team:
        raise PermissionDenied
    if action == "consent":
        form = ConsentForm(request.POST)
        if not form.is_valid():
            return _detail_page(request, found, forms={"consent": form}, status=400)
        try:
            mentoring.consent_confirm(request=found, actor=user)
        except mentoring.MentoringConflict as conflict:
            return _conflict(request, found, conflict)
        messages.success(request, _("Consent confirmed: the question is open to mentors."))
        return redirect(here)
    if action == "connect":
        form = ConnectForm(request.POST, mentoring_request=found)
        if not form.is_valid():
            return _detail_page(request, found, forms={"connect": form}, status=400)
        try:
            mentoring.connect(request=found, mentor=form.cleaned_data["mentor"], actor=user)
        except mentoring.MentoringConflict as conflict:
            return _conflict(request, found, conflict)
        except ValidationError as error:
            _show_errors(form, error)
            return _detail_page(request, found, forms={"connect": form}, status=400)
        messages.success(request, _("Done: both were emailed each other's details."))
        return redirect(here)
    if action == "close":
        try:
            mentoring.request_close(request=found, actor=user)
        except mentoring.MentoringConflict as conflict:
            return _conflict(request, found, conflict)
        messages.success(request, _("The request is closed."))
        return redirect(here)
    messages.error(request, _("Choose what to do."))
    return _detail_page(request, found, status=400)


def _answer(request, found: MentoringRequest, here: str):
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    form = AnswerForm(request.POST)
    if found.status == MentoringRequest.Status.CLOSED:
        return _conflict(
            request,
            found,
            ValidationError(_("This request is closed: answers are no longer possible.")),
        )
    if not permissions.can_answer_request(request.user, found):
        raise PermissionDenied
    if not form.is_valid():
        return _detail_page(request, found, forms={"answer": form}, status=400)
    try:
        mentoring.answer_send(request=found, mentor=request.user, body=form.cleaned_data["body"])
    except mentoring.MentoringConflict as conflict:
        return _conflict(request, found, conflict)
    except ValidationError as error:
        _show_errors(form, error)
        return _detail_page(request, found, forms={"answer": form}, status=400)
    except PermissionError:
        raise PermissionDenied from None
    messages.success(request, _("Your answer was emailed to the person who asked."))
    return redirect(here)


# The team's queue -----------------------------------------------------------------------------


@login_required
@require_safe
def team_queue(request, slug):
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_moderate_place(request.user, place):
        raise Http404
    page = Paginator(mentoring.requests_for_team(place), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    waiting = (
        mentoring.requests_for_team(place)
        .filter(status=MentoringRequest.Status.AWAITING_CONSENT)
        .count()
    )
    context = {"place": place, "page": page, "waiting": waiting, "Status": MentoringRequest.Status}
    return render(request, "community/mentoring/team.html", context)


urlpatterns = [
    path("mentoring/", ask, name="mentoring"),
    path("mentoring/r/<str:secret>/", asker_page, name="mentoring_request"),
    path("mentoring/mentor/", become, name="mentoring_become"),
    path("mentoring/requests/", mentor_queue, name="mentoring_requests"),
    path("mentoring/<int:pk>/", detail, name="mentoring_detail"),
    path("places/<slug:slug>/mentoring/", team_queue, name="mentoring_team"),
]
