"""Forms of the members' own pages: their profile and the member directory's filters."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from maillage.core.images import NormalisedImageField
from maillage.places import vocabulary as place_vocabulary

from . import services, vocabulary
from .models import MemberProfile

PORTRAIT_SIDE_PX = 400

# What each choice means, in plain words, next to the choice (visible_members decides).
VISIBILITY_EXPLANATIONS = {
    MemberProfile.Visibility.PRIVATE: _(
        "Only you, the teams (managers and staff) of the places where you have a role and the "
        "coordinators of their networks find you in the member directories and can open your "
        "profile. Other members and visitors cannot."
    ),
    MemberProfile.Visibility.MEMBERS: _(
        "The people who have a role in one of your places (members and teams) find you in its "
        "directory and can open your profile, as can the coordinators of its networks. Nobody "
        "else."
    ),
    MemberProfile.Visibility.PUBLIC: _(
        "Anyone, even without an account, finds you in the directories of your places and "
        "networks and can open your profile."
    ),
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        help_text=_("As other members see it."),
    )
    photo = NormalisedImageField(
        label=_("Photo"),
        required=False,
        max_side=PORTRAIT_SIDE_PX,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_(
            "JPEG, PNG or WebP. It is made smaller and its hidden data (such as a GPS position) "
            "is removed."
        ),
    )
    remove_photo = forms.BooleanField(label=_("Remove my photo"), required=False)
    bio = forms.CharField(
        label=_("About me"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What you do, what you are looking for, what you can help with."),
    )
    links = forms.CharField(
        label=_("Links"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "url"}),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages I speak"),
        required=False,
        choices=place_vocabulary.choices(place_vocabulary.LANGUAGES),
        widget=forms.CheckboxSelectMultiple,
    )
    skills = forms.MultipleChoiceField(
        label=_("From the shared list"),
        required=False,
        choices=vocabulary.skill_choices(),
        widget=forms.CheckboxSelectMultiple,
    )
    free_skills = forms.CharField(
        label=_("Other skills"),
        required=False,
        max_length=1000,
        help_text=_("In your own words, separated by commas."),
    )
    visibility = forms.ChoiceField(
        label=_("Who sees my profile"),
        choices=MemberProfile.Visibility.choices,
        widget=forms.RadioSelect,
    )
    show_presence = forms.BooleanField(
        label=_("Show me to the members of a place when I am checked in there"),
        required=False,
        help_text=_(
            "In its “who is here now” list, with your name, and your photo and skills for those "
            "who may see your profile. The team of the place always sees who is in."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["links"].help_text = gettext(
            "Your website, portfolio or social networks: one address per line, at most %(n)d."
        ) % {"n": services.MAX_LINKS}

    @staticmethod
    def initial_for(user, profile: MemberProfile | None) -> dict:
        if profile is None:
            return {"full_name": user.full_name, "visibility": MemberProfile.Visibility.PRIVATE}
        skills = list(user.skills.all())
        return {
            "full_name": user.full_name,
            "bio": profile.bio,
            "links": "\n".join(profile.links),
            "languages": profile.languages,
            "skills": [skill.code for skill in skills if skill.code],
            "free_skills": ", ".join(skill.label for skill in skills if not skill.code),
            "visibility": profile.visibility,
            "show_presence": profile.show_presence,
        }

    def clean_links(self) -> list[str]:
        return _lines(self.cleaned_data["links"])

    def clean_free_skills(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data["free_skills"].split(",") if tag.strip()]

    def visibility_choices(self) -> list[dict]:
        """The radio buttons of `visibility`, each with what it means."""
        return [
            {"choice": choice, "explanation": VISIBILITY_EXPLANATIONS[choice.data["value"]]}
            for choice in self["visibility"]
        ]


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or word"), required=False, max_length=100)
    skill = forms.ChoiceField(
        label=_("Skill"),
        required=False,
        choices=[("", _("All skills")), *vocabulary.skill_choices()],
    )
