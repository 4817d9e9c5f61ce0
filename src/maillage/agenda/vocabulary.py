"""The agenda's shared words: categories and audiences of events, the same in every place so
that the network agenda can be filtered by them."""

from django.utils.translation import gettext_lazy as _

from maillage.places.vocabulary import Term

CATEGORIES: tuple[Term, ...] = (
    Term("workshop", _("Workshop")),
    Term("training", _("Training")),
    Term("conference", _("Conference")),
    Term("barcamp", _("Barcamp")),
    Term("repair_cafe", _("Repair café")),
    Term("meetup", _("Meetup")),
    Term("exhibition", _("Exhibition")),
    Term("screening", _("Screening")),
    Term("open_day", _("Open day")),
    Term("festive", _("Festive event")),
    Term("other", _("Other")),
)

AUDIENCES: tuple[Term, ...] = (
    Term("everyone", _("Everyone")),
    Term("youth", _("Young people")),
    Term("seniors", _("Seniors")),
    Term("professionals", _("Professionals")),
)
