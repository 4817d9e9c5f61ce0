"""Pages of the give-box: the list with its filters, an item with its "I'd like it" form and,
for its author, the messages and the status buttons; putting an item in and changing it.
Thin: forms validate, givebox.py writes and decides, templates show."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.members.member_queries import visible_place
from maillage.places.models import Network

from . import givebox, permissions, selectors, throttle
from .givebox_forms import GiveboxFilterForm, ItemForm, ReplyForm, StatusForm
from .models import Item

PAGE_SIZE = 20


def _done_message(action: str) -> str:
    return {
        "reserve": _("The item is reserved."),
        "release": _("The item is available again."),
        "lend": _("The item is lent; the borrower has been told the return date."),
        "returned": _("The item is back and available again."),
        "gone": _("The item is marked as gone."),
    }[action]


def _item_or_404(user, pk: int) -> Item:
    item = Item.objects.select_related("place", "author", "holder").filter(pk=pk).first()
    if item is None or not permissions.can_read_item(user, item):
        raise Http404
    return item


def _show_errors(form, error: ValidationError) -> None:
    """Put a service's refusal next to the field it is about (or above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# The list -------------------------------------------------------------------------------------


@require_safe
def givebox_list(request):
    place = network = None
    if slug := request.GET.get("place"):
        place = visible_place(slug, request.user)
        if place is None:
            raise Http404
    form = GiveboxFilterForm(request.GET)
    form.is_valid()  # an invalid filter is shown next to its field and left out
    data = form.cleaned_data
    if network_slug := data.get("network"):
        network = get_object_or_404(Network, slug=network_slug)
    statuses = [*givebox.SHOWN_STATUSES, *data.get("show", [])]
    items = givebox.givebox_for(
        place=place,
        network=network,
        mode=data.get("mode") or None,
        status=statuses,
        q=data.get("q", ""),
        viewer=request.user,
    )
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    query = [(key, value) for key, value in request.GET.lists() if key != "page"]
    flat = [(key, value) for key, values in query for value in values]
    return render(
        request,
        "community/givebox/list.html",
        {
            "form": form,
            "place": place,
            "network": network,
            "page": page,
            "query": urlencode(flat),
            "can_post": permissions.postable_places(request.user).exists(),
        },
    )


# New and changed items ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def givebox_new(request):
    user = request.user
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = ItemForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                item = givebox.item_create(
                    author=user,
                    place=data["place"],
                    mode=data["mode"],
                    title=data["title"],
                    body=data["body"],
                    photo=data["photo"] or None,
                )
            except ValidationError as error:
                _show_errors(form, error)
            except PermissionError:
                form.add_error("place", _("You cannot post at this place."))
            else:
                messages.success(request, _("Your item is in the give-box."))
                return redirect("community:givebox_item", pk=item.pk)
    else:
        initial = {"mode": Item.Mode.GIVE}
        form = ItemForm(user=user, initial=initial)
        wanted = request.GET.get("place")
        if wanted and form.fields["place"].queryset.filter(slug=wanted).exists():
            form.initial["place"] = form.fields["place"].queryset.get(slug=wanted).pk
    return render(
        request,
        "community/givebox/form.html",
        {"form": form, "item": None, "can_post": form.fields["place"].queryset.exists()},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def givebox_edit(request, pk):
    item = _item_or_404(request.user, pk)
    if not permissions.can_edit_post(request.user, item):
        raise Http404
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        form = ItemForm(request.POST, request.FILES, user=request.user, item=item)
        if form.is_valid():
            data = form.cleaned_data
            try:
                givebox.item_update(
                    item=item,
                    actor=request.user,
                    title=data["title"],
                    body=data["body"],
                    mode=data["mode"],
                    photo=data["photo"] or None,
                    remove_photo=data.get("remove_photo", False),
                )
            except ValidationError as error:
                _show_errors(form, error)
            else:
                messages.success(request, _("Your changes are saved."))
                return redirect("community:givebox_item", pk=item.pk)
    else:
        form = ItemForm(user=request.user, item=item, initial=ItemForm.initial_for(item))
    return render(
        request,
        "community/givebox/form.html",
        {"form": form, "item": item, "can_post": True},
        status=400 if form.errors else 200,
    )


# An item --------------------------------------------------------------------------------------


def _detail(request, item: Item, *, reply_form=None, status_form=None, status=200):
    user = request.user
    owner = permissions.can_edit_post(user, item)
    actions = givebox.status_actions(user, item)
    if status_form is None and actions:
        status_form = StatusForm(item=item, initial={"holder": item.holder_id})
    today = givebox.today_at(item.place)
    context = {
        "item": item,
        "owner": owner,
        "author_name": selectors.display_name(item.author),
        "holder_name": selectors.display_name(item.holder) if item.holder_id else "",
        "is_holder": user.is_authenticated and item.holder_id == user.pk,
        "replies": list(permissions.replies_visible_to(user, item)),
        "can_reply": givebox.can_reply(user, item),
        "reply_form": reply_form or ReplyForm(),
        "actions": actions,
        "status_form": status_form,
        "holders": status_form.holder_choices() if status_form is not None else [],
        "today": today,
        "latest_return": today + dt.timedelta(days=givebox.LEND_MAX_DAYS),
    }
    return render(request, "community/givebox/item.html", context, status=status)


@require_safe
def givebox_item(request, pk):
    return _detail(request, _item_or_404(request.user, pk))


@login_required
@require_POST
def givebox_reply(request, pk):
    """ "I'd like it": a private message to the item's author."""
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    item = _item_or_404(request.user, pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            givebox.reply_send(item=item, sender=request.user, body=form.cleaned_data["body"])
        except PermissionError:
            raise Http404 from None
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(request, _("Your message is sent to the owner."))
            return redirect("community:givebox_item", pk=item.pk)
    return _detail(request, item, reply_form=form, status=400)


@login_required
@require_POST
def givebox_status(request, pk):
    """The author's status buttons (reserve, release, lend, returned, gone); the place's team
    may mark an item gone. Anyone else is answered as if there were no such page."""
    if refusal := throttle.page_refusal(request, throttle.posting(request)):
        return refusal
    item = _item_or_404(request.user, pk)
    action = request.POST.get("action", "")
    if not permissions.can_change_item_status(request.user, item, action):
        raise Http404
    form = StatusForm(request.POST, item=item)
    if form.is_valid():
        data = form.cleaned_data
        try:
            givebox.item_status(
                item=item,
                actor=request.user,
                action=action,
                holder=data["holder"],
                return_on=data["return_on"],
            )
        except PermissionError:
            raise Http404 from None
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(request, _done_message(action))
            return redirect("community:givebox_item", pk=item.pk)
    return _detail(request, item, status_form=form, status=409 if _conflict(form) else 400)


def _conflict(form) -> bool:
    return any(error.code == givebox.CONFLICT for error in form.non_field_errors().as_data())


urlpatterns = [
    path("givebox/", givebox_list, name="givebox"),
    path("givebox/new/", givebox_new, name="givebox_new"),
    path("givebox/<int:pk>/", givebox_item, name="givebox_item"),
    path("givebox/<int:pk>/edit/", givebox_edit, name="givebox_edit"),
    path("givebox/<int:pk>/reply/", givebox_reply, name="givebox_reply"),
    path("givebox/<int:pk>/status/", givebox_status, name="givebox_status"),
]
