"""Forms of the projects and opportunities board: its filters, a post, a private reply."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from maillage.members import vocabulary
from maillage.places.models import Network

from .models import BODY_MAX, REPLY_MAX, Opportunity


def kind_choices(*, blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(value, capfirst(label)) for value, label in Opportunity.Kind.choices]
    return [("", blank), *choices] if blank is not None else choices


def _split_tags(text: str) -> list[str]:
    """Free skills typed one per line or separated by commas."""
    return [
        " ".join(part.split())
        for line in (text or "").splitlines()
        for part in line.split(",")
        if part.strip()
    ]


class BoardFilterForm(forms.Form):
    """The board's filters (GET). `network` and `place` only on the board of every network."""

    q = forms.CharField(label=_("Words"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    skill = forms.ChoiceField(label=_("Skill wanted"), required=False)
    network = forms.ModelChoiceField(
        label=_("Network"),
        required=False,
        queryset=Network.objects.order_by("name"),
        to_field_name="slug",
        empty_label=_("Every network"),
    )
    place = forms.SlugField(label=_("Place"), required=False, max_length=120)
    include_closed = forms.BooleanField(
        label=pgettext_lazy("board filter", "Show closed and expired ones too"), required=False
    )

    def __init__(self, *args, scoped: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices(blank=_("Every kind"))
        self.fields["skill"].choices = [("", _("Any skill")), *vocabulary.skill_choices()]
        if scoped:  # the board of one place or one network: its own scope
            del self.fields["network"]
            del self.fields["place"]

    def clean_q(self):
        return " ".join(self.cleaned_data["q"].split())


class OpportunityForm(forms.Form):
    """A new post (with its place) or a change of one (without: a post stays where it is)."""

    place = forms.ModelChoiceField(
        label=_("Place"),
        queryset=None,
        to_field_name="slug",
        help_text=_("Where you post it: its team moderates the post."),
    )
    kind = forms.ChoiceField(label=_("Kind"))
    title = forms.CharField(label=_("Title"), max_length=160)
    body = forms.CharField(
        label=_("Description"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "What it is about, who you are looking for, how it works. Paragraphs, lists and "
            "links are kept; anything else is removed."
        ),
    )
    skills = forms.MultipleChoiceField(
        label=_("Skills wanted"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    free_tags = forms.CharField(
        label=_("Other skills"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("In your own words, separated by commas. At most 10 skills in all."),
    )
    deadline = forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The last day to reply; none: until you close it."),
    )
    network_wide = forms.BooleanField(
        label=_("Show it on the boards of the place's networks too"),
        required=False,
        initial=True,
        help_text=_("Otherwise only the board of the place lists it."),
    )

    def __init__(self, *args, places=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()
        self.fields["skills"].choices = vocabulary.skill_choices()
        if places is None:
            del self.fields["place"]
        else:
            self.fields["place"].queryset = places
            if len(places) == 1:
                self.fields["place"].initial = places[0].slug

    def clean_free_tags(self):
        return _split_tags(self.cleaned_data["free_tags"])

    @staticmethod
    def initial_for(post: Opportunity) -> dict:
        return {
            "kind": post.kind,
            "title": post.title,
            "body": post.body,
            "skills": [item["code"] for item in post.skills if item.get("code")],
            "free_tags": ", ".join(item["label"] for item in post.skills if not item.get("code")),
            "deadline": post.deadline,
            "network_wide": post.network_wide,
        }

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "title": data["title"],
            "body": data["body"],
            "skills": data["skills"],
            "free_tags": data["free_tags"],
            "deadline": data["deadline"],
            "network_wide": data["network_wide"],
        }


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message to the author"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Only the author reads it. Say how to reach you (an email address, a phone number): "
            "the author does not see yours."
        ),
    )
