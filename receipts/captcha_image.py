"""The captcha picture (the `captcha` package), drawn in a render worker: a module of its own so
that a worker unpickling `render` imports the picture code and nothing of the handlers."""

from __future__ import annotations

from captcha.image import ImageCaptcha

WIDTH, HEIGHT = 220, 90


def render(answer: str) -> bytes:
    """PNG bytes (about 20 ms of CPU: call through `receipts.pool.run_cpu`)."""
    return ImageCaptcha(width=WIDTH, height=HEIGHT).generate(answer, format="png").getvalue()
