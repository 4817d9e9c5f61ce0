"""Headless Chromium through Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in the main thread, where the tests also create their
data through the ORM; Django would refuse that as "sync from async", hence the switch below.
External requests (map tiles, anything not served by the live server) are aborted: the pages
must work without them, and the tests stay fast and offline.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
SHOTS = Path("/tmp/shots")  # noqa: S108 (screenshots to look at after a run)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _local_only(route):
    if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort()


class PageErrors(list):
    """Uncaught JavaScript exceptions and Content-Security-Policy violations of a page."""


@pytest.fixture
def page_errors():
    return PageErrors()


@pytest.fixture
def context_options():
    """French visitor on a desktop screen; tests may override (phone width, language)."""
    return {"locale": "fr-FR", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def page(browser, context_options, page_errors):
    context = browser.new_context(**context_options)
    context.set_default_timeout(10_000)
    context.route("**/*", _local_only)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            page_errors.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()


@pytest.fixture(scope="session")
def shots_dir():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
