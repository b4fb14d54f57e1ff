"""Telegram's MarkdownV2 parse mode and the whitespace trimming every message text goes through.

The parser follows TDLib's `parse_markdown_v2`: outside code and pre every one of
_*[]()~`>#+-=|{}.! must be escaped with a backslash unless it opens or closes an entity; inside
code and pre only ` (and \\) must be. Errors are worded and located (UTF-8 byte offsets) as
Telegram words them. Offsets in entities are UTF-16 code units, as in the Bot API.
Not emulated: expandable blockquotes (`**>`); a tg://user?id= link stays a text_link (Telegram
makes it a text_mention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulator.errors import CANT_PARSE_ENTITIES, ApiError, bad_request
from emulator.html import ParsedText, utf16_len

RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
# TDLib's names in "Can't find end of <Name> entity at byte offset N".
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_CLOSERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "code": "`",
    "pre": "```",
    "text_link": "]",
    "custom_emoji": "]",
}
# Telegram trims these from both ends of a message text (TDLib's fix_formatted_text).
TRIMMED = " \n"


def _error(detail: str) -> ApiError:
    return bad_request(CANT_PARSE_ENTITIES + detail)


def _reserved(char: str) -> ApiError:
    return _error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


@dataclass
class _Open:
    type: str
    offset: int  # UTF-16 offset in the plain text
    index: int  # where it started in the source, for error messages
    start: int  # len(out) when it started: a link without (url) uses its text
    language: str = ""


def _normalized_url(url: str) -> str | None:
    """The url as Telegram stores it ("telegram.org" -> "http://telegram.org/"), or None when it
    is not one: TDLib then drops the link and keeps its text."""
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return url if parts.netloc else None  # tg://… and other schemes are kept as given
    if not parts.hostname or "." not in parts.hostname:
        return None
    if not parts.path:  # "https://telegram.dog?" -> "https://telegram.dog/?"
        head = f"{parts.scheme}://{parts.netloc}"
        url = head + "/" + url[len(head) :]
    return url


def _custom_emoji_id(url: str) -> str:
    """The id in ![👍](tg://emoji?id=N), with TDLib's errors for anything else."""
    if not url:
        raise _error("Custom emoji entity must contain a tg://emoji URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _error("Custom emoji entity must contain a tg://emoji URL") from None
    if parts.scheme.lower() != "tg":
        raise _error("Custom emoji URL must have scheme tg")
    if (parts.netloc or parts.path.split("/")[0]).lower() != "emoji":
        raise _error('Custom emoji URL must have host "emoji"')
    ids = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "id"]
    if not ids:
        raise _error("Custom emoji URL must have an emoji identifier")
    if not ids[0].isdigit() or ids[0].startswith("0") or int(ids[0]) >= 2**63:
        raise _error("Invalid custom emoji identifier specified")
    return ids[0]


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []
        self.quote: int | None = None  # offset where an open blockquote began
        self.quote_depth = 0  # entities open when it began: those opened in it close in it

    def at(self, index: int, length: int = 1) -> str:
        return self.source[index : index + length]

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += utf16_len(text)

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].type in ("code", "pre")

    def closes(self, i: int) -> bool:
        if not self.stack:
            return False
        kind = self.stack[-1].type
        if kind == "italic":
            return self.at(i) == "_" and self.at(i + 1) != "_"
        return self.at(i, len(_CLOSERS[kind])) == _CLOSERS[kind]

    def unclosed(self) -> ApiError:
        top = self.stack[-1]
        name = "PreCode" if top.type == "pre" and top.language else _NAMES[top.type]
        where = _byte_offset(self.source, top.index)
        return _error(f"Can't find end of {name} entity at byte offset {where}")

    def line_start(self) -> bool:
        """Nothing written on this line yet: a ">" here starts or continues a blockquote."""
        return not self.out or self.out[-1] in ("\n", "\r")

    def close_quote(self) -> None:
        if self.quote is None:
            return
        if len(self.stack) > self.quote_depth:
            raise self.unclosed()
        if self.offset > self.quote:
            self.entities.append(
                {"type": "blockquote", "offset": self.quote, "length": self.offset - self.quote}
            )
        self.quote = None

    def parse(self) -> ParsedText:
        source, i = self.source, 0
        while i < len(source):
            char = source[i]
            if char == "\\" and i + 1 < len(source) and 0 < ord(source[i + 1]) <= 126:
                self.emit(source[i + 1])
                i += 2
                continue
            reserved = "`" if self.in_code() else RESERVED
            if char not in reserved:
                self.emit(char)
                i += 1
                # A blockquote goes on while the next line starts with ">" (its newline is in it).
                if char == "\n" and self.at(i) != ">" and not self.in_code():
                    self.close_quote()
                continue
            if char == ">" and self.line_start():
                if self.quote is None:
                    self.quote, self.quote_depth = self.offset, len(self.stack)
                i += 1
                continue
            i = self.close(i) if self.closes(i) else self.open(i)
        if self.stack:
            raise self.unclosed()
        self.close_quote()
        # Telegram lists a blockquote before an entity with the same span.
        self.entities.sort(key=lambda e: (e["offset"], -e["length"], e["type"] != "blockquote"))
        return ParsedText("".join(self.out), self.entities)

    def open(self, i: int) -> int:
        char, start = self.source[i], i
        language = ""
        if char == "_" and self.at(i + 1) == "_":
            kind, i = "underline", i + 2
        elif char in "_*~":
            kind, i = {"_": "italic", "*": "bold", "~": "strikethrough"}[char], i + 1
        elif char == "|" and self.at(i + 1) == "|":
            kind, i = "spoiler", i + 2
        elif char == "[":
            kind, i = "text_link", i + 1
        elif char == "!" and self.at(i + 1) == "[":
            kind, i = "custom_emoji", i + 2
        elif char == "`" and self.at(i, 3) == "```":
            kind, i = "pre", i + 3
            end = i
            while end < len(self.source) and self.source[end] not in " \t\r\n`":
                end += 1
            if end != i and end < len(self.source) and self.source[end] != "`":
                language, i = self.source[i:end], end
            if self.at(i) in ("\n", "\r"):  # one line break after ``` is not text
                i += 2 if self.at(i, 2) in ("\r\n", "\n\r") else 1
        elif char == "`":
            kind, i = "code", i + 1
        else:
            raise _reserved(char)
        self.stack.append(_Open(kind, self.offset, start, len(self.out), language))
        return i

    def close(self, i: int) -> int:
        top = self.stack.pop()
        i += len(_CLOSERS[top.type])
        entity: dict[str, Any] = {"type": top.type, "offset": top.offset}
        if top.type in ("text_link", "custom_emoji"):
            if self.at(i) == "(":
                url, i = self.url(i + 1, top.type)
            elif top.type == "custom_emoji":
                url = ""
            else:  # [text] alone links to its text
                url = "".join(self.out[top.start :])
            if top.type == "custom_emoji":
                entity["custom_emoji_id"] = _custom_emoji_id(url)
            elif (normalized := _normalized_url(url)) is not None:
                entity["url"] = normalized
            else:
                return i
        if top.type == "pre" and top.language:
            entity["language"] = top.language
        if self.offset > top.offset:
            entity["length"] = self.offset - top.offset
            self.entities.append(entity)
        return i

    def url(self, i: int, kind: str) -> tuple[str, int]:
        """The url of [text](url) from just after "(": the url and the index after ")"."""
        begin, chars = i, []
        while i < len(self.source) and self.source[i] != ")":
            if self.source[i] == "\\" and 0 < ord(self.at(i + 1) or "\0") <= 126:
                chars.append(self.source[i + 1])
                i += 2
                continue
            chars.append(self.source[i])
            i += 1
        if i >= len(self.source):
            what = "a custom emoji URL" if kind == "custom_emoji" else "a URL"
            where = _byte_offset(self.source, begin)
            raise _error(f"Can't find end of {what} at byte offset {where}")
        return "".join(chars), i + 1


def parse_markdown_v2(source: str) -> ParsedText:
    """The plain text and entities of a MarkdownV2-formatted message, or a 400 ApiError."""
    return _Parser(source).parse()


def trim(parsed: ParsedText) -> ParsedText:
    """Leading and trailing spaces and newlines removed, as Telegram stores a message.

    Trailing ones go even from inside an entity, which is shortened; leading ones only up to
    the first entity. Entities left empty are dropped.
    """
    text = parsed.text.rstrip(TRIMMED)
    end = utf16_len(text)
    first = min((e["offset"] for e in parsed.entities), default=end)
    lead = 0
    while lead < len(text) and lead < first and text[lead] in TRIMMED:
        lead += 1  # spaces and newlines are one UTF-16 unit each
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        length = min(entity["length"], end - entity["offset"])
        if length > 0:
            entities.append({**entity, "offset": entity["offset"] - lead, "length": length})
    return ParsedText(text[lead:], entities)
