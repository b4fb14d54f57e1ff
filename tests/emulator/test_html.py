"""Telegram's HTML parse mode as the emulator validates it."""

from __future__ import annotations

import pytest

from emulator.errors import ApiError
from emulator.html import parse_html


def test_allowed_tags_become_plain_text_and_entities() -> None:
    parsed = parse_html('<b>bold</b> <a\n href="https://x.io">link</a> &lt;3 &amp; <i>é</i>')
    assert parsed.text == "bold link <3 & é"
    types = [(e["type"], e["offset"], e["length"]) for e in parsed.entities]
    assert types == [("bold", 0, 4), ("text_link", 5, 4), ("italic", 15, 1)]
    assert parsed.entities[1]["url"] == "https://x.io"


def test_every_telegram_tag_is_accepted() -> None:
    source = (
        "<b>a</b><strong>a</strong><i>a</i><em>a</em><u>a</u><ins>a</ins><s>a</s>"
        '<strike>a</strike><del>a</del><span class="tg-spoiler">a</span><tg-spoiler>a</tg-spoiler>'
        '<a href="https://t.me">a</a><code>a</code><pre>a</pre><blockquote>a</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">a</tg-emoji>'
    )
    assert parse_html(source).text == "a" * 16


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("a < b", "Unclosed start tag at byte offset 2"),
        ("1 < 2 > 0", 'Unsupported start tag "2" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
def test_bad_html_is_a_cant_parse_entities_error(source: str, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.code == 400
    assert caught.value.description == "Bad Request: can't parse entities: " + detail


def test_a_lone_ampersand_stays_literal() -> None:
    assert parse_html("R&D &unknown; &#65;").text == "R&D &unknown; A"


def test_entity_offsets_count_utf16_units() -> None:
    parsed = parse_html("😀<b>x</b>")
    assert parsed.entities == [{"type": "bold", "offset": 2, "length": 1}]
