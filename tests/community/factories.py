"""Factories of the community exchange: posts written through the services of each part, so that
tests hold the same rows as real use. Shared by the parts: add, never remove."""

from maillage.accounts.models import PlaceRole
from tests.factories import PlaceFactory, UserFactory


def resident_of(place, **kwargs):
    """A new account with a resident's role at `place`."""
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=PlaceRole.Role.RESIDENT)
    return user


# Board ------------------------------------------------------------------------------------------


def opportunity_at(place=None, *, author=None, **fields):
    """An opportunity posted at `place` (a new place when None) by `author` (a new resident of
    the place when None), through community.board."""
    from maillage.community import board

    place = place or PlaceFactory()
    author = author or resident_of(place)
    fields.setdefault("kind", "project")
    fields.setdefault("title", "Cherche développeuse pour une carte des jardins partagés")
    fields.setdefault("body", "<p>Un petit projet associatif, deux soirs par mois.</p>")
    return board.opportunity_create(author=author, place=place, **fields)


# Skills exchange --------------------------------------------------------------------------------


def skill_post_at(place=None, *, author=None, **fields):
    """An offer (or, with kind="request", a request) posted at `place` (a new place when None)
    by `author` (a new resident of the place when None), through community.exchange."""
    from maillage.community import exchange

    place = place or PlaceFactory()
    author = author or resident_of(place)
    fields.setdefault("kind", "offer")
    fields.setdefault("title", "Je peux aider à monter un dossier de financement")
    fields.setdefault("body", "")
    fields.setdefault("skills", ["grant_writing"])
    fields.setdefault("free_tags", [])
    return exchange.skillpost_create(author=author, place=place, **fields)


# Give-box ---------------------------------------------------------------------------------------


def item_at(place=None, *, author=None, **fields):
    """A give-box item (to give; mode="lend" for a loan) put in at `place` (a new place when
    None) by `author` (a new resident of the place when None), through community.givebox."""
    from maillage.community import givebox

    place = place or PlaceFactory()
    author = author or resident_of(place)
    fields.setdefault("mode", "give")
    fields.setdefault("title", "Livres pour enfants (3–6 ans)")
    fields.setdefault("body", "<p>Une vingtaine d'albums en bon état.</p>")
    return givebox.item_create(author=author, place=place, **fields)


# Mentoring --------------------------------------------------------------------------------------


def mentor_at(place=None, *, fields=("entrepreneurship",), about="", **kwargs):
    """An active mentor of `fields` with a resident's role at `place` (a new place when None),
    opted in through community.mentoring."""
    from maillage.community import mentoring

    user = resident_of(place or PlaceFactory(), **kwargs)
    mentoring.mentor_save(user=user, fields=list(fields), about=about, is_active=True)
    return user


def mentoring_request_at(place=None, *, asker=None, confirm=True, **fields):
    """A mentoring question asked at `place` (a new place when None), without an account unless
    `asker` is given, its address confirmed when `confirm` (so open, or awaiting consent for a
    minor's), through community.mentoring."""
    from maillage.community import mentoring

    place = place or PlaceFactory()
    fields.setdefault("name", "Justine Roux")
    fields.setdefault("email", "justine@example.org")
    fields.setdefault("language", "fr")
    fields.setdefault("age_group", "18_25")
    fields.setdefault("guardian_consent", fields["age_group"] in ("under_15", "15_17"))
    fields.setdefault("topic", "business")
    fields.setdefault("fields", ["entrepreneurship"])
    fields.setdefault("question", "Comment crée-t-on son entreprise quand on habite en Lozère ?")
    found = mentoring.request_ask(place=place, asker=asker, **fields)
    if confirm and asker is None:
        found = mentoring.request_confirm(mentoring.request_secret(found))
    return found
