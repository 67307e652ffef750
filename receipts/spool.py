"""The push's spool: rendered receipt PDFs waiting on disk for their senders.

`render_to_spool` runs in a render worker, so this module imports only what a worker may load
(`receipts.worker` lists what it must not: aiogram, SQLAlchemy, the bot's packages); importing
`receipts.push` there would pull them all in.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from receipts.content import ReceiptData

Renderer = Callable[[ReceiptData], bytes]


def render_to_spool(render: Renderer, data: ReceiptData, path: Path) -> Path:
    """Render in the pool and keep the PDF in the spool (written whole, then renamed: a crash
    never leaves half a file under the final name). Returns the path: the bytes stay on disk
    until a sender reads them."""
    pdf = render(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}-{uuid.uuid4().hex[:8]}.part")  # threads too
    partial.write_bytes(pdf)
    partial.replace(path)
    return path
