"""The CSV of every figure of a statistics page: one line per figure, with its period, the
previous period's value and the change. Aggregates only: no person is named."""

import csv
import io
from collections.abc import Iterator

from maillage.places.exports import neutralise

from .selectors import Figures

HEADER = [
    "scope",
    "slug",
    "period",
    "from",
    "to",
    "previous_from",
    "previous_to",
    "section",
    "figure",
    "label",
    "detail",
    "detail_label",
    "unit",
    "value",
    "previous_value",
    "change_percent",
]


def _number(value) -> str:
    return "" if value is None else str(value)


def figures_csv(figures: Figures) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        writer.writerow([neutralise(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(HEADER)
    period, previous = figures.period, figures.previous_period
    for figure in figures.figures:
        yield line(
            [
                figures.scope,
                figures.slug,
                period.kind,
                period.first.isoformat(),
                period.last.isoformat(),
                previous.first.isoformat(),
                previous.last.isoformat(),
                figure.section,
                figure.code,
                figure.label,
                figure.key,
                figure.detail if figure.key else "",
                figure.unit,
                _number(figure.value),
                _number(figure.previous),
                _number(figure.change),
            ]
        )
