"""The image captcha asked after repeated failed proofs of ownership (the `captcha` package)."""

from __future__ import annotations

import secrets

from receipts.render import captcha_png as render

__all__ = ["matches", "new_answer", "render"]

# Digits without the look-alikes 0/1 that a noisy picture makes ambiguous.
ALPHABET = "23456789"
LENGTH = 5


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def matches(answer: str, typed: str) -> bool:
    cleaned = "".join(typed.split())
    return len(cleaned) == len(answer) and secrets.compare_digest(cleaned, answer)
