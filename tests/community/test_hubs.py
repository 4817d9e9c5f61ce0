"""The entrance of the community exchange, a place's community page and a network's: what each
part has that is open and visible, and the team's way to moderation."""

import pytest
from django.urls import reverse

from maillage.accounts.models import PlaceRole
from maillage.community import services
from maillage.community.models import Idea, Item, Opportunity, SkillPost
from tests.factories import NetworkFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    network = NetworkFactory(name="Solozère")
    polen, loco = PlaceFactory(name="POLeN"), PlaceFactory(name="La Loco")
    polen.networks.add(network)
    member, staff = UserFactory(), UserFactory()
    PlaceRole.objects.create(user=member, place=polen, role=PlaceRole.Role.RESIDENT)
    PlaceRole.objects.create(user=staff, place=polen, role=PlaceRole.Role.STAFF)
    common = {"author": member, "place": polen}
    posts = {
        "skill": SkillPost.objects.create(**common, kind="offer", title="Je répare les vélos"),
        "opportunity": Opportunity.objects.create(
            **common, kind="volunteer", title="Bénévoles du repair café"
        ),
        "item": Item.objects.create(**common, mode="give", title="Livres pour enfants"),
        "idea": Idea.objects.create(**common, title="Des casiers fermés à clé"),
    }
    return {
        "network": network,
        "polen": polen,
        "loco": loco,
        "member": member,
        "staff": staff,
        **posts,
    }


def test_the_place_community_page_shows_each_part_and_hides_what_is_hidden(world, client):
    services.hide_post(post=world["item"], actor=world["staff"], reason="Objet interdit")
    page = client.get(reverse("community:place", kwargs={"slug": world["polen"].slug}))
    text = page.content.decode()
    assert page.status_code == 200
    for visible in ("Je répare les vélos", "Bénévoles du repair café", "Des casiers fermés à clé"):
        assert visible in text
    assert "Livres pour enfants" not in text
    assert reverse("community:moderation", kwargs={"slug": world["polen"].slug}) not in text


def test_the_team_sees_its_way_to_moderation_with_the_reports_waiting(world, client):
    services.report_post(post=world["skill"], reporter=UserFactory(), reason="spam")
    client.force_login(world["staff"])
    client.cookies["django_language"] = "en"
    text = client.get(reverse("community:place", kwargs={"slug": world["polen"].slug})).content
    assert reverse("community:moderation", kwargs={"slug": world["polen"].slug}) in text.decode()
    assert "1 report waiting" in text.decode()


def test_the_network_page_gathers_its_places(world, client):
    page = client.get(reverse("community:network", kwargs={"slug": world["network"].slug}))
    text = page.content.decode()
    assert "Je répare les vélos" in text and "POLeN" in text
    assert "La Loco" not in text


def test_an_unpublished_place_has_no_community_page_for_strangers(world, client):
    world["polen"].is_published = False
    world["polen"].save()
    url = reverse("community:place", kwargs={"slug": world["polen"].slug})
    assert client.get(url).status_code == 404
    client.force_login(world["member"])
    assert client.get(url).status_code == 200


def test_the_entrance_lists_networks_and_my_places(world, client):
    client.force_login(world["member"])
    text = client.get(reverse("community:home")).content.decode()
    assert reverse("community:place", kwargs={"slug": world["polen"].slug}) in text
    assert reverse("community:network", kwargs={"slug": world["network"].slug}) in text
    assert (
        client.get(reverse("community:place", kwargs={"slug": "no-such-place"})).status_code == 404
    )


def test_the_place_page_counts_the_exchanges_thanked_this_year(world, client):
    from maillage.community.models import Reply, Thanks

    helper = UserFactory()
    Reply.objects.create(skill_post=world["skill"], sender=helper, body="Je peux aider")
    Thanks.objects.create(
        post=world["skill"], giver=world["member"], receiver=helper, place=world["polen"]
    )
    client.cookies["django_language"] = "en"
    text = client.get(reverse("community:place", kwargs={"slug": world["polen"].slug}))
    assert "1 exchange closed with a thank you this year" in text.content.decode()
