from django.conf import settings
from django.views.i18n import set_language as django_set_language


def set_language(request):
    """Django's language switch, which also remembers the choice on the person's account.

    The account's language is the one their emails are written in.
    """
    response = django_set_language(request)
    language = request.POST.get("language")
    user = request.user
    if (
        request.method == "POST"
        and user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and user.language != language
    ):
        user.language = language
        user.save(update_fields=["language"])
    return response
