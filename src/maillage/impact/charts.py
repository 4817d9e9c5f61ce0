"""Bar charts as server-rendered SVG: the geometry is computed here, the template draws it.

Each chart is drawn with role="img", a <title> and a <desc>, and followed on the page by the
table of its values, so that nothing is known only from the picture.
"""

from dataclasses import dataclass, field

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .selectors import Figures

ROW = 26  # height of a horizontal bar's row
LABEL = 240  # room for the labels of horizontal bars
WIDTH = 640
PLOT = WIDTH - LABEL - 70  # the longest horizontal bar; its value is written after it
COLUMNS_HEIGHT = 180


@dataclass
class Bar:
    label: str
    value: float
    text: str
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    label_x: float = 0
    label_y: float = 0
    value_x: float = 0
    value_y: float = 0
    show_label: bool = True


@dataclass
class Chart:
    key: str
    title: str
    description: str
    column_label: str
    value_label: str
    horizontal: bool
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    height: int = 0

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def bar_chart(key, title, description, column_label, value_label, rows, *, top=None) -> Chart:
    """Horizontal bars, one per (label, value, text) row, scaled to `top` (default the largest
    value)."""
    chart = Chart(key, title, description, column_label, value_label, horizontal=True)
    largest = top or max((value for _l, value, _t in rows), default=0) or 1
    for index, (label, value, text) in enumerate(rows):
        width = PLOT * min(value, largest) / largest
        y = 6 + index * ROW
        chart.bars.append(
            Bar(
                label,
                value,
                text,
                x=LABEL,
                y=y,
                width=round(width, 1),
                height=ROW - 8,
                label_x=LABEL - 8,
                label_y=y + ROW / 2,
                value_x=round(LABEL + width + 6, 1),
                value_y=y + ROW / 2,
            )
        )
    chart.height = 12 + len(rows) * ROW
    return chart


def column_chart(key, title, description, column_label, value_label, rows) -> Chart:
    """Vertical columns for a series (days or months); a label under every n-th column."""
    chart = Chart(key, title, description, column_label, value_label, horizontal=False)
    largest = max((value for _l, value, _t in rows), default=0) or 1
    count = max(len(rows), 1)
    step = (WIDTH - 20) / count
    every = max(1, round(count / 8))
    for index, (label, value, text) in enumerate(rows):
        height = (COLUMNS_HEIGHT - 20) * value / largest
        x = 10 + index * step
        chart.bars.append(
            Bar(
                label,
                value,
                text,
                x=round(x + step * 0.1, 1),
                y=round(COLUMNS_HEIGHT - height, 1),
                width=round(step * 0.8, 1),
                height=round(height, 1),
                label_x=round(x + step / 2, 1),
                label_y=COLUMNS_HEIGHT + 16,
                value_x=round(x + step / 2, 1),
                value_y=round(COLUMNS_HEIGHT - height - 4, 1),
                show_label=index % every == 0,
            )
        )
    chart.height = COLUMNS_HEIGHT + 26
    return chart


def number(value, unit: str) -> str:
    """A figure as shown: grouped digits in the active language, "—" when unknown."""
    if value is None:
        return "—"
    text = formats.number_format(value, decimal_pos=1 if unit != "count" else None)
    return f"{text} %" if unit == "percent" else text


# Short names of the figures compared in the last chart.
SHORT_LABELS = {
    "checkins": gettext_lazy("Check-ins"),
    "unique_visitors": gettext_lazy("Unique visitors"),
    "events_held": gettext_lazy("Events held"),
    "participants": gettext_lazy("Participants"),
    "exchanges": gettext_lazy("Exchanges"),
}


def figures_charts(figures: Figures) -> list[Chart]:
    """The charts of a period's figures: check-ins over time, occupancy by kind, people by role
    and the main figures next to the previous period's."""
    series_label = _("Month") if figures.series_by_month else _("Day")
    date_format = "YEAR_MONTH_FORMAT" if figures.series_by_month else "SHORT_DATE_FORMAT"
    result = [
        column_chart(
            "checkins",
            _("Check-ins"),
            _("Days of presence per month of the period.")
            if figures.series_by_month
            else _("Days of presence per day of the period."),
            series_label,
            _("Check-ins"),
            [
                (formats.date_format(day, date_format), count, number(count, "count"))
                for day, count in figures.checkins_series
            ],
        )
    ]
    occupancy = [f for f in figures.section("occupancy") if f.code == "occupancy"]
    if occupancy:
        result.append(
            bar_chart(
                "occupancy",
                _("Occupancy by kind of resource"),
                _("Hours booked in % of the hours the resources could be booked."),
                _("Kind of resource"),
                _("Occupancy"),
                [(f.detail, f.value or 0, number(f.value, f.unit)) for f in occupancy],
                top=100,
            )
        )
    roles = [f for f in figures.section("members") if f.code == "members_role"]
    if roles:
        result.append(
            bar_chart(
                "roles",
                _("People by role"),
                _("People with a role at the end of the period."),
                _("Role"),
                _("People"),
                [(f.detail, f.value or 0, number(f.value, f.unit)) for f in roles],
            )
        )
    shown = {f.code: f for f in figures.figures if not f.key}
    rows = []
    for code, short in SHORT_LABELS.items():
        figure = shown[code]
        rows.append(
            (
                _("%(figure)s, this period") % {"figure": short},
                figure.value or 0,
                number(figure.value, figure.unit),
            )
        )
        rows.append(
            (
                _("%(figure)s, previous period") % {"figure": short},
                figure.previous or 0,
                number(figure.previous, figure.unit),
            )
        )
    result.append(
        bar_chart(
            "comparison",
            _("This period and the previous one"),
            _("The main figures of the period next to those of the previous period."),
            _("Figure"),
            _("Value"),
            rows,
        )
    )
    return result


def format_figures(figures: Figures) -> None:
    """Give each figure its value and previous value as shown (`shown`, `shown_previous`)."""
    for figure in figures.figures:
        figure.shown = number(figure.value, figure.unit)
        figure.shown_previous = number(figure.previous, figure.unit)
