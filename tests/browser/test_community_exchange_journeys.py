"""The skills exchange in a real browser: Roald, a designer who works at the MSAP of Florac, offers
to help with funding applications; a request for that skill waits at POLeN in Mende, about 25 km
away. His offer's page suggests it with its distance; he opens it and writes privately to its
author, who gets the email."""

import re

import pytest
from playwright.sync_api import expect

from maillage.community.models import Reply, SkillPost
from tests.community.factories import resident_of, skill_post_at
from tests.factories import PlaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def sign_in(page, live_server, user, next_path):
    page.goto(live_server.url + f"/accounts/login/?next={next_path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def test_roald_offers_a_skill_and_is_matched_with_a_request_from_a_nearby_place(
    page, live_server, page_errors, mailoutbox
):
    florac = PlaceFactory(name="MSAP Florac", town="Florac", latitude=44.3247, longitude=3.5961)
    polen = PlaceFactory(name="POLeN", town="Mende", latitude=44.5281, longitude=3.4667)
    far = PlaceFactory(name="Le Quai", town="Montpellier", latitude=43.6108, longitude=3.8767)
    seeker = resident_of(polen, full_name="Catherine Vidal", email="catherine@example.org")
    request = skill_post_at(
        polen,
        author=seeker,
        kind="request",
        title="Besoin d'aide pour un dossier LEADER",
        skills=["grant_writing"],
    )
    skill_post_at(far, kind="request", title="Dossier de subvention à Montpellier")
    roald = resident_of(florac, full_name="Roald Martin", email="roald@example.org")

    sign_in(page, live_server, roald, "/community/skills/new/")
    page.check("input[name=kind][value=offer]")
    page.fill("input[name=title]", "Je peux aider à monter un dossier de financement")
    page.fill("textarea[name=body]", "Le soir ou le samedi, à Florac ou en visio.")
    page.check("input[name=skills][value=grant_writing]")
    page.locator("main form.form-grid button[type=submit]").click()
    page.wait_for_url(re.compile(r"/community/skills/\d+/$"))
    offer = SkillPost.objects.get(author=roald)
    assert offer.place == florac and offer.kind == "offer"

    # His offer's page: the request of Mende, with its distance; not the one of Montpellier.
    matches = page.locator("#matches-title + p + ol")
    expect(matches).to_contain_text(request.title)
    expect(matches).to_contain_text("POLeN")
    expect(matches).to_contain_text(re.compile(r"2[0-9]\s*km"))
    expect(page.locator("main")).not_to_contain_text("Montpellier")
    expect(page.locator("main")).not_to_contain_text("catherine@example.org")

    mailoutbox.clear()  # Catherine also heard of the new offer matching her request
    matches.get_by_role("link", name=request.title).click()
    page.wait_for_url(re.compile(rf"/community/skills/{request.pk}/$"))
    page.fill("textarea[name=reply-body]", "Bonjour Catherine, j'ai monté deux dossiers LEADER.")
    page.locator("main form button[type=submit]", has_text=re.compile("Send|Envoyer")).click()
    expect(page.locator("main")).to_contain_text("j'ai monté deux dossiers LEADER")
    assert Reply.objects.get(skill_post=request).sender == roald

    (email,) = [message for message in mailoutbox if message.to == ["catherine@example.org"]]
    assert "Roald M." in email.subject
    assert "j'ai monté deux dossiers LEADER" in email.body
    assert f"/community/skills/{request.pk}/" in email.body
    assert "roald@example.org" not in email.body
    assert page_errors == []
