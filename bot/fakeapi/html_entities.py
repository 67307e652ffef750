"""Telegram's HTML parse mode, as the Bot API applies it: visible text, entities, parse errors.

Follows tdlib's `parse_html` closely enough that the errors the real API gives for unescaped user
values ("Unsupported start tag", "Can't find end tag ...") are given here too, with the same wording.
"""

from __future__ import annotations

import html
import re

SUPPORTED_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "s",
    "strike",
    "del",
    "u",
    "ins",
    "tg-spoiler",
    "tg-emoji",
    "span",
    "pre",
    "code",
    "blockquote",
}
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "pre": "pre",
    "code": "code",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});")


class HtmlParseError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(text: str) -> str:
    """Only &lt; &gt; &amp; &quot; and numeric entities; anything else stays as it is."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#"):
            try:
                return html.unescape(match.group(0))
            except ValueError:  # pragma: no cover - html.unescape does not raise
                return match.group(0)
        return _NAMED.get(name, match.group(0))

    return _ENTITY_RE.sub(replace, text)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict]]:  # noqa: C901 - one tokenizer, as Telegram's
    """(visible text, entities) or HtmlParseError with Telegram's message."""
    out: list[str] = []
    out_len = 0  # UTF-16 units of `out`
    stack: list[dict] = []
    entities: list[dict] = []
    i = 0
    size = len(text)
    while i < size:
        char = text[i]
        if char != "<":
            j = text.find("<", i)
            if j < 0:
                j = size
            chunk = _decode_entities(text[i:j])
            out.append(chunk)
            out_len += utf16_len(chunk)
            i = j
            continue
        begin = i
        if i + 1 < size and text[i + 1] != "/":
            i += 1
            while i < size and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= size:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            tag = text[begin + 1 : i].lower()
            if tag not in SUPPORTED_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            attributes: dict[str, str] = {}
            while True:
                while i < size and text[i].isspace():
                    i += 1
                if i >= size:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if text[i] == ">":
                    i += 1
                    break
                name_start = i
                while i < size and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                name = text[name_start:i].lower()
                if not name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while i < size and text[i].isspace():
                    i += 1
                if i >= size or text[i] != "=":
                    raise HtmlParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while i < size and text[i].isspace():
                    i += 1
                if i >= size:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if text[i] in "'\"":
                    quote = text[i]
                    end = text.find(quote, i + 1)
                    if end < 0:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                        )
                    value = text[i + 1 : end]
                    i = end + 1
                else:
                    value_start = i
                    while i < size and not text[i].isspace() and text[i] != ">":
                        i += 1
                    value = text[value_start:i]
                attributes[name] = _decode_entities(value)
            if tag == "span" and attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append({"tag": tag, "offset": out_len, "attributes": attributes})
            continue
        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 2
        name_start = i
        while i < size and not text[i].isspace() and text[i] != ">":
            i += 1
        end_tag = text[name_start:i].lower()
        while i < size and text[i].isspace():
            i += 1
        if i >= size or text[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        opened = stack.pop()
        if end_tag and end_tag != opened["tag"]:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{opened["tag"]}>", found "</{end_tag}>"'
            )
        length = out_len - opened["offset"]
        if length > 0:
            entity = {
                "type": _ENTITY_TYPES[opened["tag"]],
                "offset": opened["offset"],
                "length": length,
            }
            attributes = opened["attributes"]
            if opened["tag"] == "a":
                url = attributes.get("href", "")
                if not url:
                    continue
                entity["url"] = url
            if opened["tag"] == "blockquote" and "expandable" in attributes:
                entity["type"] = "expandable_blockquote"
            if opened["tag"] == "tg-emoji":
                entity["custom_emoji_id"] = attributes.get("emoji-id", "")
            entities.append(entity)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
