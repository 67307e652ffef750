"""Residents' appeals (обращения): the dialogue, the list, the thread."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from texts import fmt

TOPICS = {
    "charges": "Начисления",
    "readings": "Показания",
    "quality": "Качество услуг",
    "emergency": "Аварийная ситуация",
    "other": "Другое",
}
STATUSES = {
    "new": "новое",
    "in_work": "в работе",
    "answered": "есть ответ",
    "closed": "закрыто",
}
STATUS_ICONS = {"new": "🆕", "in_work": "⏳", "answered": "💬", "closed": "✅"}

BTN_NEW = "✍️ Новое обращение"
BTN_MY_APPEALS = "📂 Мои обращения"
BTN_PHOTOS_DONE = "Готово"
BTN_NO_PHOTOS = "Без фотографий"
BTN_SEND = "✅ Отправить"
BTN_CANCEL = "Отмена"
BTN_ADD_MESSAGE = "✍️ Дописать"
BTN_CLOSE = "Закрыть обращение"
BTN_CLOSE_YES = "Да, закрыть"
BTN_CLOSE_NO = "Нет"
BTN_OPEN_THREAD = "📄 Открыть переписку"
BTN_REPLY = "✍️ Ответить"
BTN_OLDER = "◀ Раньше"
BTN_NEWER = "Позже ▶"

CHOOSE_ACCOUNT = "О каком лицевом счёте ваше обращение? Выберите счёт."
CHOOSE_TOPIC = "Обращение по лицевому счёту <b>{number}</b>.\nВыберите тему:"
ASK_TEXT = (
    "Тема: <b>{topic}</b>.\n"
    "Опишите, пожалуйста, суть обращения одним сообщением (не больше {limit} символов)."
)
ASK_PHOTOS = (
    "Если нужно, приложите фотографии — до {limit} штук. "
    "Когда закончите, нажмите «Готово». Если фото не нужны — «Без фотографий»."
)
PHOTO_ADDED = "Фото добавлено: {n} из {limit}."
PHOTOS_FULL = "Уже приложено {limit} фотографий — больше добавить нельзя. Нажмите «Готово»."
CONFIRM = (
    "<b>Проверьте обращение</b>\n"
    "Лицевой счёт: {number}\n"
    "Тема: {topic}\n"
    "{photos}\n\n"
    "{text}\n\n"
    "Отправить?"
)
PHOTOS_NONE = "Фотографий нет"
SENT = (
    "Обращение <b>№{id}</b> отправлено. Статус: {status}.\n"
    "Ответ придёт сюда, в этот чат. Все обращения — в разделе «Обращения»."
)
NOT_SENT = "Обращение не отправлено."

HINT_ACCOUNT = "Выберите лицевой счёт кнопкой выше или отправьте /cancel, чтобы отменить."
HINT_TOPIC = "Выберите тему обращения кнопкой выше или отправьте /cancel, чтобы отменить."
HINT_TEXT = (
    "Пожалуйста, опишите суть обращения текстом (можно фото с подписью). "
    "Чтобы отменить, отправьте /cancel."
)
HINT_PHOTOS = (
    "Пришлите фотографию или нажмите «Готово» (или «Без фотографий»). "
    "Чтобы отменить, отправьте /cancel."
)
HINT_CONFIRM = "Нажмите «Отправить» или «Отмена» под обращением. /cancel — отменить."
HINT_REPLY = (
    "Напишите сообщение к обращению №{id} текстом (можно фото с подписью) "
    "или отправьте /cancel, чтобы отменить."
)
TEXT_TOO_LONG = "Текст слишком длинный: {length} символов, а можно не больше {limit}. Сократите его, пожалуйста."
TEXT_EMPTY = "Текст обращения пустой. Опишите, пожалуйста, суть обращения."

LIST_HEADER = "<b>Ваши обращения</b>{scope} — страница {page} из {pages}.\nВыберите обращение, чтобы открыть переписку."
LIST_SCOPE_ACCOUNT = " по л/с № {number}"
LIST_ITEM = "{icon} №{id} · {topic} · {status}"
NO_APPEALS = "Обращений пока нет."
# How the list's own messages begin (as Telegram shows them, tags stripped): these are edited in
# place when navigating; any other message (the account card) is kept and a new one is sent.
OWN_MESSAGES = ("Ваши обращения", NO_APPEALS, "Обращение №")

THREAD_HEADER = "<b>Обращение №{id}</b> · {topic}\nЛицевой счёт: {number}\nСтатус: <b>{status}</b>"
NO_ACCOUNT_ADDRESS = "не привязан (адрес: {address})"
THREAD_PAGE = "Сообщения {first}–{last} из {total}"
THREAD_YOU = "<b>Вы</b>, {when}:"
THREAD_OPERATOR = "<b>Оператор</b>, {when}:"
THREAD_PHOTOS = "📎 Фото: {n}"

ADD_MESSAGE = "Напишите сообщение к обращению №{id}."
MESSAGE_ADDED = "Сообщение к обращению №{id} отправлено."
CLOSE_CONFIRM = "Закрыть обращение №{id}? Дописать в закрытое обращение будет нельзя."
CLOSED = "Обращение №{id} закрыто. Спасибо!"
ALREADY_CLOSED = "Обращение уже закрыто."
APPEAL_NOT_AVAILABLE = "Это обращение недоступно."

# What the resident receives from the operators' side.
OPERATOR_ANSWER = "💬 <b>Ответ на обращение №{id}</b> ({topic}):\n\n{text}"
TAKEN_IN_WORK = "⏳ Обращение №{id} ({topic}) взято в работу."
CLOSED_BY_OPERATOR = "✅ Обращение №{id} ({topic}) закрыто."


def when(value: dt.datetime, timezone: str | None) -> str:
    """A stored UTC time as the organization's local `25.11.2026 15:06`."""
    try:
        zone = ZoneInfo(timezone or "Europe/Moscow")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/Moscow")
    return value.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%d.%m.%Y %H:%M")


# --- without a linked account («Не нашли свой счёт?») -------------------------------------------
NO_ACCOUNT_HINT = (
    "Если не получается найти свой счёт, напишите в управляющую организацию — нажмите "
    "«Не нашли свой счёт?»."
)
UNLINKED_CHOOSE_ORG = (
    "✉️ <b>Обращение без привязанного счёта</b>\n\n"
    "Выберите организацию, которая обслуживает ваш дом:"
)
UNLINKED_NO_ORGS = "В боте пока нет ни одной организации. Попробуйте позже."
UNLINKED_ASK_ADDRESS = (
    "✉️ <b>Обращение в {org}</b>\n\n"
    "Мы передадим его сотрудникам, они помогут найти ваш счёт или ответят на вопрос.\n\n"
    "Напишите адрес: улицу, дом и квартиру (и номер лицевого счёта, если знаете)."
)
UNLINKED_ADDRESS_HINT = "Напишите адрес текстом, например: ул. Ленина, д. 1, кв. 5."
UNLINKED_ADDRESS_TOO_LONG = "Адрес получился слишком длинным — не больше {limit} символов."
UNLINKED_ASK_TEXT = (
    "Адрес: {address}\n\n"
    "Теперь опишите вопрос одним сообщением (до {limit} символов): например, что счёт не "
    "находится или что в нём не так."
)
UNLINKED_SENT = (
    "✅ Обращение №{id} отправлено в {org}. Ответ придёт сюда, в этот чат; "
    "обращение видно в разделе «✉️ Обращения»."
)


# --- emergencies and the answer time (issue 16, point 10) ---------------------------------------
EMERGENCY_CALL = (
    "🚨 <b>Аварийная ситуация?</b> Если заливает, пахнет газом, искрит проводка, нет тепла или "
    "света — сразу звоните в аварийно-диспетчерскую службу {org}:\n"
    "<b>{phone}</b>\n"
    "Запах газа — 104, угроза жизни — 112."
)
EMERGENCY_CALL_OFFICE = (
    "🚨 <b>Аварийная ситуация?</b> Телефон аварийной службы {org} в бот пока не загружен — "
    "позвоните в организацию: <b>{phone}</b>\n"
    "Запах газа — 104, угроза жизни — 112."
)
EMERGENCY_CALL_NONE = (
    "🚨 <b>Аварийная ситуация?</b> Если есть опасность, не ждите ответа в чате: запах газа — "
    "104, угроза жизни — 112."
)
EMERGENCY_THEN_WRITE = (
    "Письменное обращение операторы увидят первым: оно придёт к ним с пометкой 🚨."
)
WEEKDAYS_GENITIVE = (
    "понедельника", "вторника", "среды", "четверга", "пятницы", "субботы", "воскресенья",
)  # fmt: skip
ANSWER_BY = "⏱ Ответ придёт не позже {weekday}, {date}."


def answer_by(due: dt.date) -> str:
    """«⏱ Ответ придёт не позже среды, 3 декабря.» (the organization's working days)."""
    return ANSWER_BY.format(weekday=WEEKDAYS_GENITIVE[due.weekday()], date=fmt.day_long(due))
