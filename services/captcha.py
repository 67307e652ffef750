"""The image captcha asked after repeated failed proofs of ownership (the `captcha` package)."""

from __future__ import annotations

import secrets

from captcha.image import ImageCaptcha

# Digits without the look-alikes 0/1 that a noisy picture makes ambiguous.
ALPHABET = "23456789"
LENGTH = 5


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def render(answer: str) -> bytes:
    """PNG bytes (about 20 ms of CPU: call through `receipts.pool.run_cpu`)."""
    return ImageCaptcha(width=220, height=90).generate(answer, format="png").getvalue()


def matches(answer: str, typed: str) -> bool:
    cleaned = "".join(typed.split())
    return len(cleaned) == len(answer) and secrets.compare_digest(cleaned, answer)
