"""CSV files of the team's pages: attendance, receipts, credit uses and the network ledger.

Cells are made inert for spreadsheets (places.exports.neutralise), the file starts with a byte
order mark so that spreadsheets read it as UTF-8, and lines are generated one by one for
streaming responses, in the language of the request that asked for them.
"""

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _

from maillage.places.exports import neutralise

from .models import CheckIn, CreditUse, Membership


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The lines of a CSV file, header first, each cell neutralised. Rows are read lazily, in
    the language active now (a streamed response is read after the view has returned)."""
    language = translation.get_language()

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([neutralise(cell) for cell in header])
        yield "\ufeff" + buffer.getvalue()
        with translation.override(language):
            for row in rows:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([neutralise(cell) for cell in row])
                yield buffer.getvalue()

    return lines()


def local(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def hours_spent(record: CheckIn) -> Decimal | None:
    """Hours between arrival and departure (None while the person is still in)."""
    if record.checked_out_at is None:
        return None
    seconds = (record.checked_out_at - record.checked_in_at).total_seconds()
    return (Decimal(seconds) / 3600).quantize(Decimal("0.01"))


def attendance_csv(checkins: Iterable[CheckIn], *, zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    header = (
        _("Day"),
        _("Member"),
        _("Email"),
        _("Arrival"),
        _("Departure"),
        _("Hours"),
        _("Paid with"),
        _("Plan"),
        _("Pass from"),
    )
    rows = (
        (
            record.day.isoformat(),
            record.user.full_name,
            record.user.email,
            local(record.checked_in_at, zone),
            local(record.checked_out_at, zone),
            hours_spent(record),
            record.get_consumed_display(),
            record.membership.plan.name if record.membership else "",
            record.home_place.name if record.home_place else "",
        )
        for record in checkins
    )
    return csv_lines(header, rows)


def receipts_csv(memberships: Iterable[Membership], *, zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    header = (
        _("Date"),
        _("Member"),
        _("Email"),
        _("Plan"),
        _("Kind"),
        _("Price"),
        _("Currency"),
        _("Granted by"),
    )
    rows = (
        (
            membership.created_at.astimezone(zone).date().isoformat(),
            membership.user.full_name,
            membership.user.email,
            membership.plan.name,
            membership.plan.get_kind_display(),
            membership.price,
            membership.plan.currency,
            membership.granted_by or "",
        )
        for membership in memberships
    )
    return csv_lines(header, rows)


def credits_csv(uses: Iterable[CreditUse], *, zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    header = (
        _("Booked slot"),
        _("Resource"),
        _("Member"),
        _("Email"),
        _("Minutes"),
        _("Given back"),
    )
    rows = (
        (
            local(use.occurrence.start, zone),
            use.occurrence.resource.name,
            use.month.membership.user.full_name,
            use.month.membership.user.email,
            use.minutes,
            local(use.refunded_at, zone),
        )
        for use in uses
    )
    return csv_lines(header, rows)


def ledger_csv(lines: Iterable[CheckIn]) -> Iterator[str]:
    header = (_("Day"), _("Member"), _("Home place"), _("Host place"), _("Plan"), _("Value"))
    rows = (
        (
            line.day.isoformat(),
            line.user.full_name or line.user.email,
            line.home_place.name,
            line.place.name,
            line.membership.plan.name if line.membership else "",
            "" if line.unit_value is None else line.unit_value,
        )
        for line in lines
    )
    return csv_lines(header, rows)
