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


def parse_html(text: str) -> tuple[str, list[dict]]:
    """(visible text, entities) or HtmlParseError with Telegram's message."""
    out: list[str] = []
    out_len = 0  # UTF-16 units of `out`
    stack: list[dict] = []
    entities: list[dict] = []
    i = 0
    size = len(text)
    while i < size:
        if text[i] != "<":
            j = text.find("<", i)
            j = size if j < 0 else j
            chunk = _decode_entities(text[i:j])
            out.append(chunk)
            out_len += utf16_len(chunk)
            i = j
        elif i + 1 < size and text[i + 1] != "/":
            tag, attributes, i = _start_tag(text, i)
            stack.append({"tag": tag, "offset": out_len, "attributes": attributes})
        else:
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            end_tag, begin, i = _end_tag(text, i)
            opened = stack.pop()
            if end_tag and end_tag != opened["tag"]:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{opened["tag"]}>", found "</{end_tag}>"'
                )
            entity = _entity(opened, out_len - opened["offset"])
            if entity is not None:
                entities.append(entity)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _word_end(text: str, i: int, stops: str = ">") -> int:
    while i < len(text) and not text[i].isspace() and text[i] not in stops:
        i += 1
    return i


def _start_tag(text: str, begin: int) -> tuple[str, dict[str, str], int]:
    """The tag opened at `begin` ("<"), its attributes and the index after its ">"."""
    unclosed = HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    i = _word_end(text, begin + 1)
    if i >= len(text):
        raise unclosed
    tag = text[begin + 1 : i].lower()
    if tag not in SUPPORTED_TAGS:
        raise HtmlParseError(
            f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    attributes: dict[str, str] = {}
    while True:
        i = _skip_space(text, i)
        if i >= len(text):
            raise unclosed
        if text[i] == ">":
            break
        name, value, i = _attribute(text, i, tag, begin)
        attributes[name] = value
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
        )
    return tag, attributes, i + 1


def _attribute(text: str, i: int, tag: str, begin: int) -> tuple[str, str, int]:
    """One `name=value` of the tag opened at `begin`, from `i`; and the index after it."""
    unclosed = HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    name_start = i
    i = _word_end(text, i, "=>")
    name = text[name_start:i].lower()
    if not name:
        raise HtmlParseError(
            f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    i = _skip_space(text, i)
    if i >= len(text) or text[i] != "=":
        raise HtmlParseError(
            "Expected equal sign in declaration of an attribute of the tag "
            f'"{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    i = _skip_space(text, i + 1)
    if i >= len(text):
        raise unclosed
    if text[i] in "'\"":
        end = text.find(text[i], i + 1)
        if end < 0:
            raise unclosed
        return name, _decode_entities(text[i + 1 : end]), end + 1
    value_start = i
    i = _word_end(text, i)
    return name, _decode_entities(text[value_start:i]), i


def _end_tag(text: str, begin: int) -> tuple[str, int, int]:
    """The name of the end tag at `begin` ("</"), `begin`, and the index after its ">"."""
    name_start = begin + 2
    i = _word_end(text, name_start)
    end_tag = text[name_start:i].lower()
    i = _skip_space(text, i)
    if i >= len(text) or text[i] != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    return end_tag, begin, i + 1


def _entity(opened: dict, length: int) -> dict | None:
    """The entity a closed tag makes; None for an empty one or a link without its address."""
    if length <= 0:
        return None
    tag, attributes = opened["tag"], opened["attributes"]
    entity = {"type": _ENTITY_TYPES[tag], "offset": opened["offset"], "length": length}
    if tag == "a":
        url = attributes.get("href", "")
        if not url:
            return None
        entity["url"] = url
    if tag == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    if tag == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    return entity
