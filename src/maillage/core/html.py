"""User HTML: sanitised when it is written (nh3, an allow-list), escaped anywhere it is shown as
text (feeds, emails, JSON-LD)."""

import html
import re

import nh3

# What an organiser may use in a description: paragraphs, emphasis, lists and links.
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "blockquote",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}
_BLOCK_ENDS = re.compile(r"</(?:p|li|h3|h4|blockquote)>|<br\s*/?>", re.IGNORECASE)


def clean_html(text: str) -> str:
    """Keep the allowed formatting of `text` and nothing else (scripts, styles, event handlers,
    `javascript:` links are removed); links get rel="noopener noreferrer nofollow"."""
    return nh3.clean(
        text or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def html_to_text(text: str) -> str:
    """The words of sanitised HTML, for plain-text places: every tag removed, entities decoded."""
    stripped = nh3.clean(_BLOCK_ENDS.sub("\n", text or ""), tags=set(), attributes={})
    return re.sub(r"\n{3,}", "\n\n", html.unescape(stripped)).strip()
