"""The organizations' contacts (/help, «📞 Контакты» in the menu and on the card) and the
working-day answer time of appeals."""

from __future__ import annotations

from typing import Any

from texts import fmt

TITLE = "📞 <b>Контакты</b>"
TITLE_ONE = "📞 <b>Контакты организации</b>"
NONE_LINKED = (
    "К вашему профилю пока не привязан ни один лицевой счёт, поэтому показаны все организации, "
    "которые обслуживает бот."
)
NO_ORGANIZATIONS = "В боте пока нет ни одной организации: контакты появятся после загрузки данных."
NOT_LOADED = "Контакты организации пока не загружены."
PHONE = "☎️ Телефон: {phone}"
EMERGENCY = "🚨 Аварийная служба: {phone}"
EMAIL = "✉️ E-mail: {email}"
ADDRESS = "📍 Адрес: {address}"
HOURS = "🕘 Часы приёма: {hours}"
ANSWER = "Ответ на обращение — в течение {days}."
HELP_TITLE = "<b>Контакты вашей организации</b>"
HELP_TITLE_MANY = "<b>Контакты ваших организаций</b>"
HELP_TITLE_ALL = "<b>Контакты организаций</b>"


def working_days(n: int) -> str:
    """«в течение 1 рабочего дня / 2 рабочих дней / 5 рабочих дней» (genitive after «в течение»)."""
    return fmt.count(n, "рабочего дня", "рабочих дней", "рабочих дней")


def block(org: Any) -> str:
    """One organization's contacts; lines only for what was imported. `org` is an Organization."""
    lines = [f"<b>{fmt.esc(org.name)}</b>"]
    shown = (
        (EMERGENCY, "phone", org.emergency_phone),
        (PHONE, "phone", org.phone),
        (EMAIL, "email", org.email),
        (ADDRESS, "address", org.address),
        (HOURS, "hours", org.office_hours),
    )
    lines += [text.format(**{key: fmt.esc(value)}) for text, key, value in shown if value]
    if len(lines) == 1:
        lines.append(NOT_LOADED)
    lines.append(ANSWER.format(days=working_days(org.answer_days or 2)))
    return "\n".join(lines)


def blocks(organizations: list[Any]) -> str:
    return "\n\n".join(block(org) for org in organizations)
