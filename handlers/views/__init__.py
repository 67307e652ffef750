"""Pure text builders: data in, the message's HTML out. The handlers send these texts and
`python -m bot card` prints them (`plain`), so both show exactly the same thing."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """The text a resident reads: HTML tags stripped, entities unescaped."""
    return html.unescape(_TAG.sub("", text))
