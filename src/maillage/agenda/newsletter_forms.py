"""Forms of the newsletter: the sign-up (an address, a network or places, a language), the list
of places to pick from, and the digest page's choice."""

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from maillage.core.text import fold
from maillage.places.models import Network, Place

from .newsletter import DEFAULT_WEEKS, MAX_WEEKS

# The sign-up page lists at most this many places to tick; the filter narrows the list.
MAX_LISTED_PLACES = 100


def published_places() -> QuerySet[Place]:
    return Place.objects.filter(is_published=True).order_by("name", "pk")


class PlaceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, place):
        return f"{place.name} ({place.town})" if place.town else place.name


class SubscribeForm(forms.Form):
    """Sign up for the digest. Every published place can be chosen; the page shows only the
    places of the filter (see `show_places`) plus those already ticked."""

    SCOPES = (
        ("network", _("Every event of a network")),
        ("places", _("Only the events of the places I choose")),
    )

    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    scope = forms.ChoiceField(
        label=_("What do you want to receive?"),
        choices=SCOPES,
        initial="network",
        widget=forms.RadioSelect,
    )
    network = forms.ModelChoiceField(
        label=_("Network"),
        queryset=Network.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("Choose a network"),
    )
    places = PlaceChoiceField(
        label=_("Places"),
        queryset=published_places(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=_("Language of the emails"),
        choices=settings.LANGUAGES,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
        if current in dict(settings.LANGUAGES):
            self.fields["language"].initial = current
        networks = list(self.fields["network"].queryset)
        if len(networks) == 1 and not self.is_bound:
            self.fields["network"].initial = networks[0].slug

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == "network":
            data["places"] = []
            if not data.get("network") and "network" not in self.errors:
                self.add_error("network", _("Choose the network whose events you want."))
        elif scope == "places":
            data["network"] = None
            if not data.get("places") and "places" not in self.errors:
                self.add_error("places", _("Tick at least one place."))
        return data

    def show_places(self, listed: QuerySet[Place]) -> None:
        """Render only `listed` (the filter's places) and the places already ticked: a choice
        among hundreds of places would make the page too heavy for a slow connection."""
        ticked = _ids(self.data.getlist("places")) if self.is_bound else []
        shown = [*listed.values_list("pk", flat=True)[:MAX_LISTED_PLACES], *ticked]
        self.fields["places"].queryset = published_places().filter(pk__in=shown)


def _ids(values) -> list[int]:
    return [int(value) for value in values if str(value).isdigit()]


class PlaceFilterForm(forms.Form):
    """Which places the sign-up page lists: those of a network and/or matching some words."""

    places_of = forms.ModelChoiceField(
        label=_("Places of the network"),
        queryset=Network.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("All networks"),
        # The filter's inputs sit inside the sign-up form on the page but belong to this one.
        widget=forms.Select(attrs={"form": "places-filter"}),
    )
    find = forms.CharField(
        label=_("Name or town"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "form": "places-filter"}),
    )

    def places(self) -> tuple[QuerySet[Place], bool]:
        """The places to list, and whether the list had to be cut (too many to show)."""
        places = published_places()
        data = self.cleaned_data if self.is_valid() else {}
        network = data.get("places_of")
        if network is None and not data.get("find"):
            networks = list(Network.objects.all()[:2])
            if len(networks) == 1:  # one network, as in most instances: its places
                network = networks[0]
            else:  # the places of the networks first; the search finds the others
                places = places.filter(networks__isnull=False).distinct()
        if network is not None:
            places = places.filter(networks=network)
        for word in fold(data.get("find", "")).split():
            places = places.filter(search_text__contains=word)
        return places, places[MAX_LISTED_PLACES : MAX_LISTED_PLACES + 1].exists()


class DigestForm(forms.Form):
    """The digest page: a network, or one or more places, and how many weeks ahead."""

    network = forms.ModelChoiceField(
        label=_("Network"),
        queryset=Network.objects.all(),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": _("There is no such network.")},
    )
    place = forms.ModelMultipleChoiceField(
        label=_("Places"),
        queryset=published_places(),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": _("There is no place “%(value)s”.")},
    )
    weeks = forms.IntegerField(
        label=_("Weeks ahead"),
        min_value=1,
        max_value=MAX_WEEKS,
        required=False,
    )

    def clean_weeks(self):
        return self.cleaned_data["weeks"] or DEFAULT_WEEKS
