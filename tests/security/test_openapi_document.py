"""The committed OpenAPI document, docs/openapi.json, is what the code serves."""

import json

import pytest
from django.core.management import CommandError, call_command

from maillage.core.management.commands.openapi import DEFAULT_PATH, openapi_document


def test_committed_document_is_current():
    """Fails when the API changed without `make openapi`: regenerate, review and commit."""
    call_command("openapi", "--check")


def test_document_is_the_one_served(client):
    served = client.get("/api/v1/openapi.json")

    assert served.status_code == 200
    assert json.loads(openapi_document()) == served.json()


def test_document_is_sorted_pretty_json_with_a_final_newline():
    text = DEFAULT_PATH.read_text(encoding="utf-8")

    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_check_fails_on_a_stale_or_missing_file_and_writing_fixes_it(tmp_path):
    path = tmp_path / "openapi.json"
    with pytest.raises(CommandError, match="missing"):
        call_command("openapi", "--check", path=path)

    path.write_text(openapi_document().replace('"Maillage API"', '"Old title"'), encoding="utf-8")
    with pytest.raises(CommandError, match=r"out of date(.|\n)*Old title"):
        call_command("openapi", "--check", path=path)

    call_command("openapi", path=path, verbosity=0)
    call_command("openapi", "--check", path=path)
    assert path.read_text(encoding="utf-8") == openapi_document()


def test_no_two_schemas_share_a_name():
    """The document names schemas by their class name only: two schemas of the same name in two
    modules would silently become one there (the second replacing the first)."""
    from ninja import Schema

    import maillage.api  # noqa: F401 (every router and its schemas)

    modules_by_name: dict[str, set[str]] = {}
    stack = [Schema]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("maillage."):
                modules_by_name.setdefault(cls.__name__, set()).add(cls.__module__)

    assert {name: mods for name, mods in modules_by_name.items() if len(mods) > 1} == {}
