from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from .forms import AuditFilterForm
from .selectors import audit_entries_for, can_read_audit


@login_required
def audit_log(request):
    """The audit log of the places and networks this person manages or coordinates."""
    if not can_read_audit(request.user):
        raise Http404
    entries = audit_entries_for(request.user)
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action__startswith=data["action"])
        if data["place"]:
            entries = entries.filter(place__slug=data["place"])
        if data["since"]:
            entries = entries.filter(created_at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(created_at__date__lte=data["until"])
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_log.html",
        {"page": page, "form": form, "query": query.urlencode()},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
