"""Forms of the give-box: an item (new or changed), "I'd like it", the status actions of its
author and the filters of the list."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from maillage.agenda.manage_forms import as_html
from maillage.core.images import NormalisedImageField
from maillage.places.models import Network

from . import givebox, permissions, selectors
from .models import BODY_MAX, REPLY_MAX, Item

# Give-box photos are shown on cards and on the item's page: 1,000 px is plenty, and light.
PHOTO_SIDE_PX = 1000


class ItemForm(forms.Form):
    """A new item (with the place where it is picked up) or changes to one (`item` given)."""

    place = forms.ModelChoiceField(
        label=_("Where to pick it up"),
        queryset=None,
        empty_label=None,
        help_text=_("One of the places where you have a role."),
    )
    mode = forms.ChoiceField(
        label=_("I want to"),
        choices=[
            (Item.Mode.GIVE, pgettext_lazy("give-box", "give it away")),
            (Item.Mode.LEND, pgettext_lazy("give-box", "lend it (it comes back to me)")),
        ],
        widget=forms.RadioSelect,
    )
    title = forms.CharField(
        label=_("What is it?"),
        max_length=160,
        help_text=_("For instance: “Cordless drill”, “Children's books (3–6 years)”."),
    )
    body = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Its condition, its size, when it can be picked up."),
    )
    photo = NormalisedImageField(
        label=_("Photo"),
        required=False,
        max_side=PHOTO_SIDE_PX,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_(
            "JPEG, PNG or WebP, 8 MB at most. It is made smaller and its hidden data (such as a "
            "GPS position) is removed."
        ),
    )
    remove_photo = forms.BooleanField(label=_("Remove the photo"), required=False)

    def __init__(self, *args, user, item: Item | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        if item is None:
            self.fields["place"].queryset = permissions.postable_places(user).order_by("name")
            del self.fields["remove_photo"]
        else:
            del self.fields["place"]
            if not item.photo:
                del self.fields["remove_photo"]

    @staticmethod
    def initial_for(item: Item) -> dict:
        return {"mode": item.mode, "title": item.title, "body": item.body}

    def clean_body(self) -> str:
        # Plain text becomes paragraphs; HTML is sanitised by the service.
        return as_html(self.cleaned_data["body"])


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message to the owner"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the owner reads it. Say when you could pick it up."),
    )


class StatusForm(forms.Form):
    """One of the status buttons of the item's page (action) with what it needs."""

    action = forms.ChoiceField(choices=[(action, action) for action in givebox.ACTIONS])
    holder = forms.ModelChoiceField(
        label=_("For"),
        queryset=None,
        required=False,
        empty_label=_("nobody in particular"),
    )
    return_on = forms.DateField(
        label=_("To be returned on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, item: Item, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = givebox.repliers(item)
        self.fields["holder"].label_from_instance = _person_label

    def holder_choices(self) -> list[tuple[int, str]]:
        return [(user.pk, _person_label(user)) for user in self.fields["holder"].queryset]


def _person_label(user) -> str:
    return selectors.display_name(user)


SHOW_CHOICES = [
    (Item.Status.LENT, _("lent items")),
    (Item.Status.GONE, _("items already gone")),
]


class GiveboxFilterForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"), required=False)
    mode = forms.ChoiceField(
        label=_("Given or lent"),
        required=False,
        choices=[
            ("", _("Both")),
            (Item.Mode.GIVE, pgettext_lazy("give-box filter", "given away")),
            (Item.Mode.LEND, pgettext_lazy("give-box filter", "lent")),
        ],
    )
    show = forms.MultipleChoiceField(
        label=_("Also show"),
        required=False,
        choices=SHOW_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    q = forms.CharField(label=_("Words"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        networks = (
            Network.objects.filter(places__is_published=True)
            .distinct()
            .order_by("name")
            .values_list("slug", "name")
        )
        self.fields["network"].choices = [("", _("All networks")), *networks]
