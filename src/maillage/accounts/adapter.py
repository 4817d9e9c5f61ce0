"""Maillage's django-allauth adapter."""

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from maillage.core.ratelimit import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """One rule for every rate limit: `maillage.core.ratelimit.client_ip`.

        X-Forwarded-For is believed only when MAILLAGE_TRUST_PROXY is on, and then only its last
        entry, the one the reverse proxy appended (ALLAUTH_TRUSTED_PROXY_COUNT = 1 says the same
        to allauth's own code).
        """
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's IP address")
        return ip
