"""The secret address of a place's check-in tablet (the kiosk): made, renewed and revoked by the
place's managers, audited. Whoever holds the address can check the place's members in by name,
so renewing it disables a lost or stolen tablet at once."""

import io
import secrets

import qrcode
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from qrcode.image.svg import SvgPathFillImage

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.places.models import Place

from . import permissions
from .models import Kiosk

TOKEN_BYTES = 32  # 43 URL-safe characters


@transaction.atomic
def kiosk_renew(*, place: Place, actor: User) -> Kiosk:
    """Give `place` a new kiosk address; the previous one, if any, stops working at once."""
    if not permissions.can_manage_plans(actor, place):
        raise PermissionError
    # One renewal at a time per place: the second waits and replaces the first's row.
    Place.objects.select_for_update().filter(pk=place.pk).values_list("pk").get()
    replaced = Kiosk.objects.filter(place=place).delete()[0] > 0
    kiosk = Kiosk.objects.create(place=place, token=secrets.token_urlsafe(TOKEN_BYTES))
    audit_record(
        actor=actor,
        action="kiosk.renew",
        target=kiosk,
        place=place,
        details={"replaced": replaced},
    )
    return kiosk


@transaction.atomic
def kiosk_revoke(*, place: Place, actor: User) -> bool:
    """Switch the kiosk of `place` off. Returns whether there was one."""
    if not permissions.can_manage_plans(actor, place):
        raise PermissionError
    kiosk = Kiosk.objects.select_for_update().filter(place=place).first()
    if kiosk is None:
        return False
    audit_record(actor=actor, action="kiosk.revoke", target=kiosk, place=place)
    kiosk.delete()
    return True


def kiosk_for_token(token: str) -> Kiosk | None:
    """The kiosk whose address holds `token`, with its place; None for any other string."""
    if not token or len(token) > Kiosk._meta.get_field("token").max_length:
        return None
    return Kiosk.objects.select_related("place").filter(token=token).first()


def kiosk_address(kiosk: Kiosk) -> str:
    """The full address to open on the tablet."""
    return settings.MAILLAGE_BASE_URL + reverse("members:kiosk", kwargs={"token": kiosk.token})


def self_checkin_address(place: Place) -> str:
    """Where the kiosk's QR code leads: the member's own check-in page, on their phone."""
    return settings.MAILLAGE_BASE_URL + reverse("members:self_checkin", kwargs={"slug": place.slug})


def qr_svg(text: str) -> bytes:
    """`text` as a QR code, an SVG image on a white background (the library allauth already
    uses for authenticator apps)."""
    image = qrcode.make(text, image_factory=SvgPathFillImage, border=4)
    output = io.BytesIO()
    image.save(output)
    return output.getvalue()
