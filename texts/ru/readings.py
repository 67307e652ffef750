"""Texts of the readings feature: meters, readings sent as messages, history, reminders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from texts import fmt

RESOURCE_NAMES = {
    "cold_water": "ХВС (холодная вода)",
    "hot_water": "ГВС (горячая вода)",
    "electricity": "Электроэнергия",
    "gas": "Газ",
    "heat": "Отопление",
    "sewage": "Водоотведение",
}
RESOURCE_SHORT = {
    "cold_water": "ХВС",
    "hot_water": "ГВС",
    "electricity": "Эл.",
    "gas": "Газ",
    "heat": "Отопл.",
    "sewage": "Водоотв.",
}
RESOURCE_ICONS = {
    "cold_water": "💧",
    "hot_water": "♨️",
    "electricity": "⚡",
    "gas": "🔥",
    "heat": "🌡",
}
ZONE_NAMES = {"day": "день", "night": "ночь", "peak": "пик", "semipeak": "полупик"}
UNITS = {
    "cold_water": "м³",
    "hot_water": "м³",
    "gas": "м³",
    "sewage": "м³",
    "electricity": "кВт·ч",
    "heat": "Гкал",
}
SOURCE_NAMES = {"resident": "вы", "billing": "УК", "estimate": "расчёт"}


def meter_name(resource: str, zone: str = "") -> str:
    name = RESOURCE_NAMES.get(resource, resource or "Счётчик")
    return f"{name}, {ZONE_NAMES[zone]}" if zone in ZONE_NAMES else name


def meter_short(resource: str, zone: str, serial: str) -> str:
    """`ХВС №…0815`, `Эл. день №…4711`: for buttons and lists of values."""
    name = RESOURCE_SHORT.get(resource, resource or "Счётчик")
    if zone in ZONE_NAMES:
        name = f"{name} {ZONE_NAMES[zone]}"
    tail = serial[-4:] if serial else ""
    return f"{name} №…{tail}" if tail else name


def value(amount: Decimal, resource: str = "") -> str:
    unit = UNITS.get(resource)
    text = fmt.volume(amount)
    return f"{text}{fmt.NBSP}{unit}" if unit else text


# --- the meters list ---------------------------------------------------------------------------

CHOOSE_ACCOUNT = (
    "Выберите лицевой счёт, по которому хотите посмотреть счётчики или передать показания:"
)
ACCOUNT_BUTTON = "л/с № {number}, {address}"
NO_METERS = (
    "По лицевому счёту <b>{number}</b> нет счётчиков, по которым принимаются показания.\n"
    "Если счётчик установлен, сообщите о нём в управляющую организацию через «Обращения»."
)
METERS_TITLE = "<b>Счётчики · л/с № {number}</b>\n{address}"
METER_LINE = "{icon} <b>{name}</b>\nЗаводской № {serial}"
METER_LAST = "Последние показания: {value} от {date}"
METER_NO_LAST = "Последних показаний нет"
METER_THIS_PERIOD = "За {month}: {value} ✅"
METER_THIS_PERIOD_MISSING = "За {month}: не переданы"
METER_VERIFICATION = "Поверка до {date}"
METER_VERIFICATION_SOON = "⚠️ Поверка до {date} — срок скоро истекает"
METER_VERIFICATION_EXPIRED = (
    "⛔ Срок поверки истёк {date}: показания не принимаются. Поверьте или замените счётчик "
    "и сообщите об этом в управляющую организацию."
)
METER_ARCHIVED = "Счётчик выведен из учёта."
WINDOW_OPEN = "Приём показаний открыт: с {day_from} по {day_to} число, сегодня можно передать."
WINDOW_CLOSED = "Приём показаний с {day_from} по {day_to} число; откроется {opens}."
HOW_TO_SEND = (
    "Чтобы передать показания, просто пришлите их сообщением:\n"
    "• одно число, например <code>123,4</code>, если счётчик один;\n"
    "• или несколько строк:\n<code>ХВС 123,4\nГВС 45\nэл день 1200 ночь 800</code>\n"
    "Счётчик можно указать и по последним цифрам номера: <code>№4711 123</code>.\n"
    "Можно прислать и фото счётчика с показаниями в подписи — фото сохранится вместе с ними."
)
BTN_HISTORY = "📈 История: {name}"


def meters_title(number: str, address: str) -> str:
    return METERS_TITLE.format(number=fmt.esc(number), address=fmt.esc(address))


def window_line(day_from: int, day_to: int, is_open: bool, opens_on: dt.date) -> str:
    if is_open:
        return WINDOW_OPEN.format(day_from=day_from, day_to=day_to)
    return WINDOW_CLOSED.format(day_from=day_from, day_to=day_to, opens=fmt.day_long(opens_on))


# --- readings as messages ----------------------------------------------------------------------

NO_ACCOUNTS = (
    "Похоже, вы прислали показания, но к вашему профилю пока не привязан ни один лицевой счёт. "
    "Привяжите счёт в разделе «Мои счета»."
)
NO_ACTIVE_METERS = (
    "Похоже, вы прислали показания, но по вашим лицевым счетам нет счётчиков, по которым "
    "принимаются показания."
)
CHOOSE_METER = "К какому счётчику относится значение <b>{value}</b>?"
CONFIRM_TITLE = "Проверьте, пожалуйста, показания за {month}:"
CONFIRM_LINE = "• {name} (л/с № {account}): <b>{value}</b>"
CONFIRM_USE = "   расход {use}"
CONFIRM_REPLACES = "   заменит переданные ранее {old}"
WARN_ROLLOVER = (
    "   ⚠️ Значение меньше предыдущего ({previous}). Если счётчик «перешёл через ноль» "
    "(после 99999 снова 00000), нажмите «Сохранить» — расход {use}, показания проверит "
    "управляющая организация."
)
WARN_SPIKE = (
    "   ⚠️ Расход {use} намного больше обычного (в среднем {average} в месяц). Проверьте "
    "значение; если всё верно, нажмите «Сохранить» — показания проверит управляющая организация."
)
CONFIRM_QUESTION = "Сохранить?"
BTN_SAVE = "✅ Сохранить"
BTN_FIX = "✏️ Исправить"
BTN_CANCEL = "Отмена"
SAVED_TITLE = "Показания за {month} сохранены:"
SAVED_LINE = "• {name}: <b>{value}</b>"
SAVED_CORRECTION = " (исправление)"
SAVED_REVIEW = " — на проверке у управляющей организации"
SAVED_FOOTER = "До {last} показания можно исправить: просто пришлите новое значение."
ALREADY_SAVED = "Эти показания уже сохранены."
FIX_PROMPT = (
    "Хорошо, пришлите показания ещё раз, например <code>123,4</code> или <code>ХВС 123,4</code>."
)
CANCELLED = "Показания не сохранены."
WAITING_CONFIRM = (
    "Сначала подтвердите показания выше кнопкой «Сохранить» или «Исправить», либо пришлите "
    "исправленные показания. /cancel — отменить."
)
WAITING_CHOICE = "Выберите счётчик кнопкой выше или отправьте /cancel, чтобы отменить."
STALE = "Эти кнопки устарели: пришлите показания ещё раз."
NOTHING_TO_SAVE = "Ни одно значение не принято, ничего не сохранено."
REFUSED_TITLE = "Не принято:"

# Refusals, one line each: "• «…»: reason"
ERR_NOT_A_NUMBER = "«{typed}» — не число. Пришлите показания цифрами, например <code>123,4</code>."
ERR_NEGATIVE = "«{typed}» — показания не бывают отрицательными."
ERR_TOO_LONG = "«{typed}» — слишком длинное число для счётчика."
ERR_UNCLEAR = "«{typed}» — не понял, к какому счётчику это относится."
ERR_NO_METER = "«{typed}» — у вас нет такого счётчика ({hint})."
ANY_METER = "счётчик"
ERR_SAME_METER = "{name}: значение указано дважды — пришлите одно."
ERR_TOO_MANY_DECIMALS = (
    "{name}: {value} — у этого счётчика не больше {decimals} {places} после запятой."
)
ERR_NO_DECIMALS = (
    "{name}: {value} — у этого счётчика нет знаков после запятой, пришлите целое число."
)
ERR_TOO_MANY_DIGITS = "{name}: {value} — у этого счётчика не больше {digits} {places} до запятой."
ERR_BELOW_PREVIOUS = (
    "{name}: {value} меньше предыдущих показаний {previous}. Проверьте значение: показания "
    "не могут уменьшаться."
)
ERR_WINDOW_CLOSED = (
    "Приём показаний с {day_from} по {day_to} число; откроется {opens}. "
    "Пришлите показания, пожалуйста, в эти дни."
)
# Outside the window, before anything is asked
WINDOW_CLOSED_NOW = (
    "⏳ Приём показаний с {day_from} по {day_to} число; откроется {opens}. Сейчас показания "
    "не принимаются, ничего не сохранено.\n\n"
    "Пришлите их, пожалуйста, в эти дни. Нажмите «Напомнить, когда откроется» — я напомню."
)
BTN_REMIND_WHEN_OPEN = "🔔 Напомнить, когда откроется"
REMINDER_REQUESTED = (
    "🔔 Хорошо: {opens} напомню, что открыт приём показаний (с {day_from} по {day_to} число)."
)
WINDOW_ALREADY_OPEN = "Приём показаний уже открыт — просто пришлите показания сообщением."
# A photo with the readings
PHOTO_KEPT = "📷 Фото приложу к показаниям: управляющая организация сможет его посмотреть."
SAVED_PHOTO = "📷 Фото приложено."
ERR_METER_GONE = "«{typed}» — этот счётчик больше недоступен по вашим лицевым счетам."
ERR_ARCHIVED = "{name}: счётчик выведен из учёта, показания по нему не принимаются."
ERR_VERIFICATION_EXPIRED = (
    "{name}: срок поверки истёк {date} — показания не принимаются. Поверьте или замените "
    "счётчик и сообщите об этом в управляющую организацию."
)


def hint_text(resource: str | None, zone: str | None, serial_tail: str | None) -> str:
    parts = []
    if resource == "water":
        parts.append("вода")
    elif resource:
        parts.append(RESOURCE_SHORT.get(resource, resource))
    if zone:
        parts.append(ZONE_NAMES.get(zone, zone))
    if serial_tail:
        parts.append(f"№…{serial_tail}")
    return " ".join(parts)


def digits_word(n: int) -> str:
    return fmt.plural(n, "знака", "знаков", "знаков")


# --- history ---------------------------------------------------------------------------------

CHOOSE_HISTORY_METER = "История показаний · л/с № {number}. Выберите счётчик:"
HISTORY_TITLE = "<b>История показаний</b>\n{name}, № {serial} · л/с № {number}"
HISTORY_LINE = "{month}: <b>{value}</b>{use}{source}{versions}{review}"
HISTORY_USE = " (расход {use})"
HISTORY_SOURCE = " · {source}"
HISTORY_VERSIONS = " · исправлено"
HISTORY_REVIEW = " · на проверке"
HISTORY_EMPTY = "Показаний по этому счётчику пока нет."
BTN_OLDER = "◀ Раньше"
BTN_NEWER = "Позже ▶"

# --- reminders -------------------------------------------------------------------------------

REMINDER_OPEN = (
    "🔢 Открыт приём показаний счётчиков за {month}: с {day_from} по {day_to} число.\n"
    "{missing_line}\nПросто пришлите их сообщением, например <code>ХВС 123,4</code>.\n\n"
    "Напоминания можно отключить в «Профиле»."
)
REMINDER_CLOSE = (
    "⏰ Сегодня последний день приёма показаний за {month}.\n{missing_line}\n"
    "Пришлите их сообщением, например <code>ХВС 123,4</code>.\n\n"
    "Напоминания можно отключить в «Профиле»."
)


def missing_line(missing: int) -> str:
    return f"Ждём показания по {fmt.count(missing, 'счётчику', 'счётчикам', 'счётчикам')}."
