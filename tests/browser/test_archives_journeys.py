"""A place leaves the network, in a real browser: its manager opens the archive page from the
place's page, starts the export, and downloads the zip once it is ready."""

import re
import zipfile

import pytest
from playwright.sync_api import expect

from maillage.archives.models import PlaceArchive
from maillage.core.models import AuditEntry
from tests.factories import PlaceFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def test_a_manager_exports_the_place_and_downloads_its_archive(
    page, live_server, page_errors, settings, tmp_path
):
    settings.MAILLAGE_ARCHIVE_ROOT = tmp_path / "archives"
    place = PlaceFactory(name="La Fabrique du Causse", slug="fabrique-causse")
    manager = make_manager(place, full_name="Mireille Gérante")

    page.goto(live_server.url + f"/accounts/login/?next=/places/{place.slug}/")
    page.fill("input[name=login]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(f"/places/{place.slug}/"))

    page.get_by_role("link", name=re.compile("Archive of the place|Archive du lieu", re.I)).click()
    page.wait_for_url(re.compile(f"/archives/places/{place.slug}/"))
    page.get_by_role("button", name=re.compile("Export|Exporter", re.I)).click()

    download_link = page.get_by_role("link", name=re.compile("Download|Télécharger", re.I))
    expect(download_link).to_be_visible()
    with page.expect_download() as info:
        download_link.click()
    path = tmp_path / "downloaded.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert "manifest.json" in archive.namelist()
        assert b"fabrique-causse" in archive.read("place.jsonl")
    assert PlaceArchive.objects.get().status == PlaceArchive.Status.DONE
    assert AuditEntry.objects.filter(action="place.archive.download", actor=manager).exists()
    assert not page_errors
