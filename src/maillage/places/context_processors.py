from django.utils.functional import SimpleLazyObject

from maillage.accounts.selectors import can_read_audit

from .permissions import is_coordinator


def navigation(request):
    user = getattr(request, "user", None)
    # Lazy: the query runs only where a template asks whether to show the moderation link.
    return {
        "user_is_coordinator": SimpleLazyObject(lambda: is_coordinator(user)),
        "user_reads_audit": SimpleLazyObject(lambda: can_read_audit(user)),
    }
