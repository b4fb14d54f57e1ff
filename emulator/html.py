"""Telegram's HTML parse mode: the allowed tags, its error texts, and the resulting plain text.

Follows TDLib's parser: `<` must open a supported tag, `&` starts an entity only if it is one
of &lt; &gt; &amp; &quot; or a numeric reference (otherwise it is a literal `&`), tags must nest.
Offsets in entities are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import CANT_PARSE_ENTITIES, ApiError, bad_request

ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_ATTR = re.compile(r"""([a-zA-Z_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


@dataclass
class _Open:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the plain text


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def _error(detail: str) -> ApiError:
    return bad_request(CANT_PARSE_ENTITIES + detail)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str]) -> str | None:
    body = match.group(1)
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        return _NAMED.get(body)
    return chr(code) if 0 < code <= 0x10FFFF else None


def _attributes(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        attrs[match.group(1).lower()] = value
    return attrs


def _entity(tag: _Open, end: int) -> dict[str, Any] | None:
    length = end - tag.offset
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": ENTITY_TYPES[tag.name], "offset": tag.offset}
    entity["length"] = length
    if tag.name == "a":
        entity["url"] = tag.attrs.get("href", "")
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "code" and tag.attrs.get("class", "").startswith("language-"):
        entity["type"] = "pre"
        entity["language"] = tag.attrs["class"].removeprefix("language-")
    return entity


def _start_tag(inner: str, offset: int, byte_offset: int) -> _Open:
    name, *rest_parts = re.split(r"\s+", inner.strip(), maxsplit=1)
    name = name.lower().rstrip("/")
    rest = rest_parts[0] if rest_parts else ""
    if name not in ENTITY_TYPES:
        raise _error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    attrs = _attributes(rest)
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _error('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise _error('Tag "tg-emoji" must have attribute "emoji-id"')
    return _Open(name, attrs, offset)


def parse_html(source: str) -> ParsedText:
    """The plain text and entities of an HTML-formatted message, or a 400 ApiError."""
    out: list[str] = []
    offset = 0  # UTF-16 length of `out`
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            byte_offset = len(source[:i].encode())
            end = source.find(">", i)
            if end < 0:
                raise _error(f"Unclosed start tag at byte offset {byte_offset}")
            inner = source[i + 1 : end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise _error(f"Unexpected end tag at byte offset {byte_offset}")
                if name != stack[-1].name:
                    raise _error(
                        f"Unmatched end tag at byte offset {byte_offset}, "
                        f'expected "</{stack[-1].name}>", found "</{name}>"'
                    )
                if (entity := _entity(stack.pop(), offset)) is not None:
                    entities.append(entity)
            else:
                stack.append(_start_tag(inner, offset, byte_offset))
            i = end + 1
            continue
        if char == "&" and (match := _ENTITY.match(source, i)):
            decoded = _decode_entity(match)
            if decoded is not None:
                out.append(decoded)
                offset += utf16_len(decoded)
                i = match.end()
                continue
        out.append(char)
        offset += utf16_len(char)
        i += 1
    if stack:
        raise _error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)
