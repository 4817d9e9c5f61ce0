"""What the privacy app stores itself: the warnings sent before an unused account is erased."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionNotice(models.Model):
    """An unused account was told that it will be erased (privacy/retention.py). Signing in
    again before `erase_after` keeps the account (the notice is then deleted)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retention_notice"
    )
    warned_at = models.DateTimeField(_("warned on"))
    erase_after = models.DateTimeField(_("to be erased after"))

    class Meta:
        verbose_name = _("retention notice")
        verbose_name_plural = _("retention notices")

    def __str__(self):
        return f"notice {self.user_id} {self.warned_at:%Y-%m-%d}"
