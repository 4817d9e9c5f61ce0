"""`maillage openapi [--check]`: the API's OpenAPI document, committed as docs/openapi.json.

Without --check the file is (re)written from the code; with --check the command fails when the
committed file differs from what the code generates, so that a change of the API never goes
unnoticed in review (`make test` runs it).
"""

import difflib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation

from maillage import env

DEFAULT_PATH = env.PROJECT_DIR / "docs" / "openapi.json"
DIFF_LINES = 60


def openapi_document() -> str:
    """The document served at /api/v1/openapi.json: pretty-printed, sorted keys, final newline."""
    from maillage.api import api

    with translation.override("en"):
        schema = api.get_openapi_schema()
        # Through plain JSON first: lazy strings become text and every key a string, so sorting
        # never compares an int with a str.
        plain = json.loads(json.dumps(schema, cls=DjangoJSONEncoder))
    return json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write the OpenAPI document of the API to docs/openapi.json, or --check it is current."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail when the file differs from what the code generates.",
        )
        parser.add_argument(
            "--path", type=Path, default=DEFAULT_PATH, help=f"The file (default {DEFAULT_PATH})."
        )

    def handle(self, *args, check: bool, path: Path, verbosity: int, **options):
        document = openapi_document()
        if not check:
            path.write_text(document, encoding="utf-8", newline="\n")
            if verbosity:
                self.stdout.write(f"Wrote {path}.")
            return
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        if committed == document:
            if verbosity > 1:
                self.stdout.write(f"{path} is up to date.")
            return
        diff = list(
            difflib.unified_diff(
                committed.splitlines(),
                document.splitlines(),
                f"{path} (committed)",
                f"{path} (generated)",
                lineterm="",
            )
        )
        shown = "\n".join(diff[:DIFF_LINES])
        more = f"\n… and {len(diff) - DIFF_LINES} more lines" if len(diff) > DIFF_LINES else ""
        missing = "" if path.exists() else " (missing)"
        raise CommandError(
            f"The OpenAPI document {path}{missing} is out of date: the API changed. "
            f"Run `make openapi` (or `maillage openapi`), review and commit the file.\n"
            f"{shown}{more}"
        )
