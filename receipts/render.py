"""The renderers as the bot hands them to the render pool: module-level functions that import
their renderer when first called.

The bot process itself never loads fpdf, fontTools, numpy or Pillow (half a second of CPU at every
start, for nothing: its workers render, and they load and warm them as they start, see
`receipts.worker`). A worker unpickles a job as a reference to this light module and finds the
renderer already loaded; with RENDER_WORKERS=0 the first receipt loads it in a thread.
"""

from __future__ import annotations

from receipts.content import ReceiptData


def receipt_pdf(data: ReceiptData) -> bytes:
    """`receipts.pdf.render_receipt`: the receipt's PDF."""
    from receipts.pdf import render_receipt

    return render_receipt(data)


def captcha_png(answer: str) -> bytes:
    """`receipts.captcha_image.render`: the captcha's PNG (the captcha library loads Pillow)."""
    from receipts.captcha_image import render

    return render(answer)
