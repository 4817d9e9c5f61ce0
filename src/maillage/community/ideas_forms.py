"""Forms of the idea box: posting an idea, filtering the box, the team's answer. They check the
shape of what is typed; the rules (who, sanitising, statuses) are ideas.py's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .ideas import STATUS_LABELS
from .models import BODY_MAX


class IdeaForm(forms.Form):
    title = forms.CharField(
        label=_("Your idea in a few words"),
        max_length=160,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    body = forms.CharField(
        label=_("Explain it"),
        max_length=BODY_MAX,
        help_text=_("What would it change for the place and its people? Links are allowed."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class IdeaFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    order = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[("votes", _("most votes first")), ("recent", _("newest first"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            ("", _("all statuses")),
            *STATUS_LABELS.items(),
        ]

    def chosen(self) -> tuple[str, str]:
        """The status kept ("" for all) and the order; the defaults when the query is invalid."""
        if not self.is_valid():
            return "", "votes"
        return self.cleaned_data["status"], self.cleaned_data["order"] or "votes"


class AnswerForm(forms.Form):
    status = forms.ChoiceField(label=_("Status of the idea"))
    answer = forms.CharField(
        label=_("The team's answer"),
        required=False,
        max_length=BODY_MAX,
        help_text=_("Required to decline an idea: say why. The author and the voters are told."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(STATUS_LABELS.items())
