"""Forms of mentoring: the question (with or without an account), the mentor's opt-in, an
answer, and the team's consent check and connection."""

from django import forms
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import User
from maillage.members.kiosk_queries import first_name
from maillage.members.vocabulary import SKILLS
from maillage.places.models import Place
from maillage.places.vocabulary import choices

from . import mentoring, selectors
from .models import BODY_MAX, MentoringRequest
from .vocabulary import MENTORING_FIELDS


class AskForm(forms.Form):
    """A question to a mentor. Anyone may ask: a honeypot keeps robots out, the rate limit
    bursts; the rules (a minor's consent...) are the service's, shown next to the fields."""

    place = forms.ModelChoiceField(
        label=_("The place near you"),
        queryset=Place.objects.none(),
        to_field_name="slug",
        empty_label=_("Choose a place"),
        help_text=_(
            "Its team watches over the questions and puts you in touch with a mentor. You do "
            "not need to go there to ask."
        ),
    )
    name = forms.CharField(label=_("Your first name"), max_length=mentoring.NAME_MAX)
    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_(
            "We send you the answers there. Mentors do not see it; the place's team gives it "
            "only to the mentor it puts you in touch with."
        ),
    )
    age_group = forms.ChoiceField(
        label=_("Your age"),
        choices=MentoringRequest.AgeGroup.choices,
        widget=forms.RadioSelect,
    )
    guardian_consent = forms.BooleanField(
        label=_("My parent or guardian agrees that I ask a mentor"),
        required=False,
        help_text=_(
            "Only if you are under 18. The place's team checks it with them, for instance by "
            "phone, before any mentor reads your question."
        ),
    )
    topic = forms.ChoiceField(
        label=_("My question is about"),
        choices=MentoringRequest.Topic.choices,
        widget=forms.RadioSelect,
    )
    fields = forms.MultipleChoiceField(
        label=_("Which fields?"),
        choices=choices(MENTORING_FIELDS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Leave them all empty if you do not know: every mentor nearby will see it."),
    )
    question = forms.CharField(
        label=_("Your question"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "In your own words. Do not write your surname, address or phone number: mentors "
            "read it."
        ),
    )
    # Honeypot: hidden from people by CSS, filled in by robots.
    nickname = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, user=None, place: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user if user is not None and user.is_authenticated else None
        field = self.fields["place"]
        field.queryset = Place.objects.filter(is_published=True)
        # Offered: the places of a network (where mentors are), and the one the visitor came
        # from; the question of any published place is accepted.
        shown = (
            Place.objects.filter(is_published=True)
            .filter(Q(networks__isnull=False) | Q(slug=place or self.data.get("place") or ""))
            .distinct()
            .order_by("name", "town", "pk")
        )
        field.widget.choices = [("", field.empty_label)] + [
            (found.slug, f"{found.name} ({found.town})" if found.town else found.name)
            for found in shown
        ]
        if place:
            self.initial.setdefault("place", place)
        if self.user is not None:
            del self.fields["email"]
            self.initial.setdefault("name", first_name(self.user.full_name))

    def clean(self):
        data = super().clean()
        if data.get("nickname"):
            raise forms.ValidationError(_("Your question looks automated and was not sent."))
        return data

    def ask(self) -> MentoringRequest:
        """Record the question through the service (raises its ValidationError)."""
        data = self.cleaned_data
        return mentoring.request_ask(
            place=data["place"],
            asker=self.user,
            name=data["name"],
            email=data.get("email", ""),
            language=translation.get_language(),
            age_group=data["age_group"],
            guardian_consent=data["guardian_consent"],
            topic=data["topic"],
            fields=list(data["fields"]),
            question=data["question"],
        )


class MentorForm(forms.Form):
    fields = forms.MultipleChoiceField(
        label=_("Trades and orientation"),
        choices=choices(MENTORING_FIELDS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    skills = forms.MultipleChoiceField(
        label=_("Skills"),
        choices=choices(SKILLS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    about = forms.CharField(
        label=_("What I can share"),
        max_length=mentoring.ABOUT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "A few words about your path and what you can talk about. The people you are put "
            "in touch with read it."
        ),
    )
    is_active = forms.BooleanField(
        label=_("I am available as a mentor"),
        required=False,
        help_text=_("Untick it to take a break: no more questions are shown or emailed to you."),
    )

    @classmethod
    def initial_for(cls, record) -> dict:
        if record is None:
            return {"is_active": True}
        mentoring_codes = {term.code for term in MENTORING_FIELDS}
        return {
            "fields": [code for code in record.fields if code in mentoring_codes],
            "skills": [code for code in record.fields if code not in mentoring_codes],
            "about": record.about,
            "is_active": record.is_active,
        }

    def codes(self) -> list[str]:
        return [*self.cleaned_data["fields"], *self.cleaned_data["skills"]]


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"),
        max_length=mentoring.ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Emailed at once to the person who asked. Plain words; do not give your phone "
            "number or address: the place's team puts you in touch if it makes sense."
        ),
    )


class ConsentForm(forms.Form):
    checked = forms.BooleanField(
        label=_(
            "I checked with the parent or guardian (for instance by phone) that they agree to "
            "this question"
        ),
        error_messages={"required": _("Tick the box once you have checked it.")},
    )


class MentorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return selectors.display_name(obj)


class ConnectForm(forms.Form):
    mentor = MentorChoiceField(
        label=_("Mentor"), queryset=User.objects.none(), empty_label=_("Choose a mentor")
    )

    def __init__(self, *args, mentoring_request: MentoringRequest, **kwargs):
        super().__init__(*args, **kwargs)
        # The mentors who see the request, and those who answered it (if still active).
        mentors = mentoring.mentors_for(mentoring_request)
        answered = mentoring_request.answers.filter(
            mentor__mentor__is_active=True, mentor__is_active=True
        )
        self.fields["mentor"].queryset = User.objects.filter(
            Q(pk__in=mentors.values("user_id")) | Q(pk__in=answered.values("mentor_id"))
        ).order_by("full_name", "pk")
