"""Mentoring in a real browser (seed 003): Justine, 16, asks a question without an account from her
phone, ticking that her parent agrees; she confirms her address with the link of her email; the
manager of POLeN checks the consent and opens it to mentors; Murielle, a young entrepreneur of the
network who mentors in entrepreneurship, answers from her page; Justine finds the answer in her
mailbox and reads it behind her link."""

import re

import pytest
from playwright.sync_api import expect

from maillage.community.models import MentoringAnswer, MentoringRequest
from tests.community.factories import mentor_at
from tests.factories import NetworkFactory, PlaceFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password
PHONE = {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}, "is_mobile": True}
DESKTOP = {"locale": "fr-FR", "viewport": {"width": 1280, "height": 900}}
QUESTION = "Comment devient-on créatrice d'entreprise dans le numérique, en Lozère ?"
ANSWER = "Commence par un stage de seconde dans une agence : je peux t'en présenter une à Mende."


def _watched(browser, options, page_errors):
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    return context, page


def _sign_in(page, live_server, user, next_path):
    page.goto(live_server.url + f"/accounts/login/?next={next_path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def _local(live_server, link: str) -> str:
    return live_server.url + re.sub(r"^https?://[^/]+", "", link)


def _link_in(email) -> str:
    return re.search(r"https?://\S+/community/mentoring/r/\S+/", email.body).group(0)


def test_justine_asks_a_mentoring_question_without_an_account_and_gets_an_answer_by_email(
    browser, live_server, page_errors, mailoutbox, shots_dir
):
    solozere = NetworkFactory(name="Solozère")
    polen = PlaceFactory(name="POLeN", town="Mende")
    villefort = PlaceFactory(name="MSAP de Villefort", town="Villefort")
    polen.networks.add(solozere)
    villefort.networks.add(solozere)
    manager = make_manager(polen, full_name="Lucas Gestionnaire", language="fr")
    murielle = mentor_at(
        villefort,
        fields=["entrepreneurship", "digital_jobs"],
        about="J'ai créé mon agence web à Villefort.",
        full_name="Murielle Bastide",
        email="murielle@example.org",
        language="fr",
    )

    # Justine, on her phone, without an account.
    phone, justine = _watched(browser, PHONE, page_errors)
    justine.goto(live_server.url + "/community/mentoring/")
    justine.select_option("select[name=place]", polen.slug)
    justine.fill("input[name=name]", "Justine")
    justine.fill("input[name=email]", "justine@example.org")
    justine.check("input[name=age_group][value='15_17']")
    # She forgets her parent's agreement: refused next to the box, nothing recorded.
    justine.check("input[name=topic][value='business']")
    justine.check("input[name=fields][value='entrepreneurship']")
    justine.fill("textarea[name=question]", QUESTION)
    justine.locator("main form button[type=submit]").click()
    expect(justine.locator("#id_guardian_consent_error")).to_be_visible()
    justine.screenshot(path=str(shots_dir / "mentoring-ask-refused-390.png"), full_page=True)
    assert not MentoringRequest.objects.exists()
    # The form kept what she wrote; she ticks the box this time.
    expect(justine.locator("textarea[name=question]")).to_have_value(QUESTION)
    justine.check("input[name=guardian_consent]")
    justine.locator("main form button[type=submit]").click()
    justine.wait_for_url(re.compile(r"/community/mentoring/$"))
    expect(justine.locator("main h1")).to_be_visible()
    expect(justine.locator("main")).to_contain_text("justine@example.org")
    asked = MentoringRequest.objects.get()
    assert asked.status == "unconfirmed" and asked.guardian_consent

    (confirmation,) = [m for m in mailoutbox if m.to == ["justine@example.org"]]
    justine.goto(_local(live_server, _link_in(confirmation)))
    justine.locator("main form input[value=confirm] + button").click()
    asked.refresh_from_db()
    assert asked.status == "awaiting_consent"
    assert not any(m.to == ["murielle@example.org"] for m in mailoutbox)

    # The manager of POLeN checks with her mother by phone, then confirms on the team page.
    office, lucas = _watched(browser, DESKTOP, page_errors)
    team_page = f"/community/places/{polen.slug}/mentoring/"
    _sign_in(lucas, live_server, manager, team_page)
    lucas.get_by_role("link", name=re.compile("Comment devient-on")).click()
    lucas.wait_for_url(re.compile(rf"/community/mentoring/{asked.pk}/$"))
    expect(lucas.locator("main")).to_contain_text("justine@example.org")
    lucas.screenshot(path=str(shots_dir / "mentoring-consent-1280.png"), full_page=True)
    lucas.check("input[name=checked]")
    lucas.locator("main form input[value=consent] ~ .actions button").click()
    lucas.wait_for_url(re.compile(rf"/community/mentoring/{asked.pk}/$"))
    asked.refresh_from_db()
    assert asked.status == "open" and asked.consent_confirmed_by == manager
    office.close()

    # Murielle, told by email, answers from her queue; she never sees Justine's address.
    assert any(m.to == ["murielle@example.org"] for m in mailoutbox)
    desk, mentor_page = _watched(browser, DESKTOP, page_errors)
    _sign_in(mentor_page, live_server, murielle, "/community/mentoring/requests/")
    mentor_page.get_by_role("link", name=re.compile("Comment devient-on")).click()
    mentor_page.wait_for_url(re.compile(rf"/community/mentoring/{asked.pk}/$"))
    expect(mentor_page.locator("main")).to_contain_text("Justine")
    expect(mentor_page.locator("main")).not_to_contain_text("justine@example.org")
    mentor_page.fill("textarea[name=body]", ANSWER)
    mentor_page.locator("main form input[value=answer] ~ .actions button").click()
    mentor_page.wait_for_url(re.compile(rf"/community/mentoring/{asked.pk}/$"))
    assert MentoringAnswer.objects.get().mentor == murielle
    desk.close()

    # The answer is in Justine's mailbox, with her link; she reads it on her phone.
    (answered,) = [m for m in mailoutbox if m.to == ["justine@example.org"] and ANSWER in m.body]
    assert "Murielle B." in answered.body and "murielle@example.org" not in answered.body
    justine.goto(_local(live_server, _link_in(answered)))
    expect(justine.locator("main")).to_contain_text(ANSWER)
    expect(justine.locator("main")).to_contain_text("Murielle B.")
    justine.screenshot(path=str(shots_dir / "mentoring-answer-390.png"), full_page=True)
    phone.close()
    assert page_errors == []
