"""Phone numbers: E.164 for storage and comparison, international form for display."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str) -> str | None:
    """E.164 (`+79991234567`) or None. Telegram sends its numbers without "+", so a bare
    international number is tried first, then a Russian national one (8 999 …)."""
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if not digits:
        return None
    candidates = [digits] if digits.startswith("+") else [f"+{digits}", digits]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, "RU")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def display_phone(e164: str | None) -> str:
    if not e164:
        return "—"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
