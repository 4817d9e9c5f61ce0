"""The demo give-box of POLeN (Mende), for `maillage load_demo`:
Lucas lends a drill, Catherine gives children's books (reserved for Basile, who asked for them)
and has lent her sewing machine to Basile until ten days from now.

Written through community.givebox like any real use (the messages and the loan are emailed once,
to the console without MAILLAGE_EMAIL_URL). Idempotent: an item is known by its author, place and
title; one already there is left as it is (its status may have moved on since).

`places`: census id → Place, as in places/management/commands/load_demo.py ("1101" is POLeN);
`people`: "manager" (Lucas Gestionnaire), "resident" (Catherine Vidal), "nomad" (Basile Martin);
a person not given is looked up by their demo email. Call it after load_demo_members (which
gives Basile his role at POLeN); nothing happens without POLeN.
"""

import datetime as dt

from maillage.accounts.models import User
from maillage.community import givebox
from maillage.community.models import Item, Reply

POLEN_ID = "1101"
EMAILS = {
    "manager": "manager@polen.test",
    "resident": "catherine@solozere.test",
    "nomad": "basile@solozere.test",
}


def _person(people: dict, key: str) -> User | None:
    return people.get(key) or User.objects.filter(email=EMAILS[key]).first()


def _item(author, place, *, title: str, mode: str, body: str) -> tuple[Item, bool]:
    found = Item.objects.filter(author=author, place=place, title=title).first()
    if found is not None:
        return found, False
    item = givebox.item_create(author=author, place=place, mode=mode, title=title, body=body)
    return item, True


def _asks(item: Item, person, body: str) -> None:
    if not Reply.objects.filter(item=item, sender=person).exists():
        givebox.reply_send(item=item, sender=person, body=body)


def load_givebox(places: dict, people: dict) -> int:
    """Create what is missing; returns how many items were created."""
    polen = places.get(POLEN_ID)
    lucas = _person(people, "manager")
    catherine = _person(people, "resident")
    basile = _person(people, "nomad")
    if polen is None or lucas is None or catherine is None:
        return 0
    created = 0

    _drill, new = _item(
        lucas,
        polen,
        title="Perceuse-visseuse sans fil",
        mode=Item.Mode.LEND,
        body=(
            "<p>Perceuse-visseuse 18 V avec deux batteries, le chargeur et un coffret de "
            "forets bois et métal.</p><p>À prendre à l'accueil de POLeN, du lundi au vendredi."
            "</p>"
        ),
    )
    created += new

    books, new = _item(
        catherine,
        polen,
        title="Livres pour enfants (3–6 ans)",
        mode=Item.Mode.GIVE,
        body=(
            "<p>Une vingtaine d'albums en bon état : <em>Petit Ours Brun</em>, <em>Tchoupi</em>"
            ", des imagiers et quelques contes. Mes enfants ont grandi !</p>"
        ),
    )
    created += new
    if new and basile is not None:
        _asks(books, basile, "Bonjour, ce serait parfait pour mon neveu. Je passe jeudi ?")
        givebox.item_reserve(item=books, actor=catherine, holder=basile)

    machine, new = _item(
        catherine,
        polen,
        title="Machine à coudre Singer",
        mode=Item.Mode.LEND,
        body=(
            "<p>Machine à coudre mécanique, idéale pour les ourlets et les petites retouches. "
            "Avec sa pédale et une boîte de canettes.</p>"
        ),
    )
    created += new
    if new and basile is not None:
        _asks(machine, basile, "Je peux l'emprunter pour raccourcir des rideaux ?")
        givebox.item_lend(
            item=machine,
            actor=catherine,
            holder=basile,
            return_on=givebox.today_at(polen) + dt.timedelta(days=10),
        )
    return created
