"""Uploaded images: checked, turned upright, shrunk and stripped of metadata before storage.

Photos taken on a phone carry GPS positions in their EXIF data and weigh several megabytes; a
visitor on a rural connection should get neither. Every image is re-encoded as WebP.
"""

import io
import uuid
import warnings

from django import forms
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_MB = 8
MAX_SIDE_PX = 1600
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


def normalise_image(upload, *, max_side: int = MAX_SIDE_PX) -> ContentFile:
    """A clean WebP copy of an uploaded JPEG, PNG or WebP image, or a translated ValidationError."""
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise forms.ValidationError(
            _("The image is too large: %(max)d MB at most."), params={"max": MAX_UPLOAD_MB}
        )
    unreadable = forms.ValidationError(
        _("This file is not an image we can read: send a JPEG, PNG or WebP picture.")
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as probe:
                image_format = probe.format
                if probe.width * probe.height > MAX_PIXELS:
                    raise unreadable
                probe.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()
                picture = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise unreadable from None
    if image_format not in ACCEPTED_FORMATS:
        raise unreadable
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    picture.thumbnail((max_side, max_side))
    output = io.BytesIO()
    picture.save(output, "WEBP", quality=80, method=4)
    # A random name: the uploader's file name may be personal, and media URLs must not be
    # guessable (photos of unpublished places are served by the same path).
    return ContentFile(output.getvalue(), name=f"{uuid.uuid4().hex}.webp")


class NormalisedImageField(forms.FileField):
    """A file field that accepts only readable images and returns their normalised copy."""

    def __init__(self, *args, max_side: int = MAX_SIDE_PX, **kwargs):
        self.max_side = max_side
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        value = super().clean(data, initial)
        if (
            value
            and value is not initial
            and hasattr(value, "size")
            and not getattr(value, "_committed", False)
        ):
            return normalise_image(value, max_side=self.max_side)
        return value
