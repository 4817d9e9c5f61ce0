"""Forms of the skills exchange: an offer or a request, a private reply, a thank you, and the
filters of the list."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from maillage.members import vocabulary
from maillage.places.models import Network

from .models import BODY_MAX, REPLY_MAX, SkillPost


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in (text or "").split(",") if tag.strip()]


class SkillPostForm(forms.Form):
    """What the author writes; the place is chosen among `places` (permissions.postable_places)
    when the post is new, and stays where it is afterwards."""

    kind = forms.ChoiceField(
        label=_("I…"), choices=SkillPost.Kind.choices, widget=forms.RadioSelect
    )
    place = forms.ModelChoiceField(
        label=_("Place"),
        queryset=None,
        empty_label=None,
        help_text=_("Where you can meet: one of the places where you are a member."),
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=160,
        help_text=_("In a few words, e.g. “I can help you put together a funding application”."),
    )
    body = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("When you are available, what you expect, how you like to work."),
    )
    skills = forms.MultipleChoiceField(
        label=_("Skills from the shared list"),
        required=False,
        choices=vocabulary.skill_choices(),
        widget=forms.CheckboxSelectMultiple,
    )
    free_tags = forms.CharField(
        label=_("Other skills"),
        required=False,
        max_length=700,
        help_text=_("In your own words, separated by commas. At most 10 skills in all."),
    )

    def __init__(self, *args, places=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["place"]
            del self.fields["kind"]
        else:
            self.fields["place"].queryset = places.order_by("name")

    @staticmethod
    def initial_for(post: SkillPost) -> dict:
        skills = list(post.skills.all())
        return {
            "title": post.title,
            "body": post.body,
            "skills": [skill.code for skill in skills if skill.code],
            "free_tags": ", ".join(skill.label for skill in skills if not skill.code),
        }

    def clean_free_tags(self) -> list[str]:
        return _tags(self.cleaned_data["free_tags"])

    def clean(self):
        cleaned = super().clean()
        if (
            not self.errors
            and not cleaned.get("skills")
            and not cleaned.get("free_tags")
            and "skills" in self.fields
        ):
            self.add_error("skills", _("Choose at least one skill, or write your own."))
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your private message"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Only the author of the post reads it; they are told by email."),
    )


class ThanksForm(forms.Form):
    receiver = forms.TypedChoiceField(label=_("Whom do you thank?"), coerce=int)
    message = forms.CharField(
        label=_("A word of thanks (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiver"].choices = people


class ExchangeFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Offers or requests"),
        required=False,
        choices=[
            ("", _("Offers and requests")),
            (SkillPost.Kind.OFFER, pgettext_lazy("skills exchange", "Offers")),
            (SkillPost.Kind.REQUEST, pgettext_lazy("skills exchange", "Requests")),
        ],
    )
    skill = forms.ChoiceField(
        label=_("Skill"),
        required=False,
        choices=[("", _("All skills")), *vocabulary.skill_choices()],
    )
    network = forms.ChoiceField(label=_("Network"), required=False)
    place = forms.SlugField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(label=_("Words"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network"].choices = [
            ("", _("All networks")),
            *Network.objects.order_by("name").values_list("slug", "name"),
        ]
