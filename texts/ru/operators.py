"""The operators' chat, /stats and /announce for administrators."""

from typing import Any

from texts import fmt
from texts.fmt import count

# --- the appeal's post in the operators' chat ---------------------------------------------------
POST = (
    "🆕 <b>Обращение №{id}</b> · {topic}\n"
    "{about}\n"
    "Телефон жителя: {phone}\n"
    "Создано: {when}\n\n"
    "{text}"
)
POST_ACCOUNT = (
    "Лицевой счёт: <b>{number}</b> ({organization})\nАдрес: {address}\nВладелец счёта: {holder}"
)
POST_NO_ACCOUNT = (
    "⚠️ <b>Без привязанного счёта</b> ({organization}): житель не нашёл свой счёт в боте.\n"
    "Адрес со слов жителя: {address}"
)
POST_PHOTOS = "\n\n📎 Фото: {n} (ниже)"
POST_HINT = "\n\n<i>Чтобы ответить жителю, ответьте (reply) на это сообщение.</i>"
RESIDENT_DELETED = "житель удалил регистрацию"
NO_VALUE = "—"
RESIDENT_MESSAGE = "✉️ <b>Житель дописал в обращение №{id}</b> · {when}\n\n{text}"
PHOTO_CAPTION = "Обращение №{id}: фото"
RESIDENT_CLOSED = "✅ Житель закрыл обращение №{id}."

BTN_TAKE = "Взять в работу"
BTN_CLOSE = "Закрыть"

TAKEN = "⏳ Обращение №{id} взял(а) в работу {operator}."
CLOSED = "✅ Обращение №{id} закрыл(а) {operator}."
ALERT_TAKEN = "Обращение №{id} — в работе."
ALERT_CLOSED = "Обращение №{id} закрыто."
ALERT_ALREADY_CLOSED = "Обращение №{id} уже закрыто."
NOT_AN_OPERATOR = "Действия с обращениями доступны только операторам."
APPEAL_NOT_FOUND = "Обращение №{id} не найдено."

ANSWER_SENT = "✅ Ответ по обращению №{id} доставлен жителю."
ANSWER_BLOCKED = (
    "⚠️ Ответ по обращению №{id} сохранён, но не доставлен: житель заблокировал бота. "
    "Он увидит ответ в истории обращений, когда вернётся."
)
ANSWER_FAILED = (
    "⚠️ Ответ по обращению №{id} сохранён, но Telegram не принял сообщение. "
    "Житель увидит ответ в истории обращений."
)
ANSWER_NO_RESIDENT = (
    "⚠️ Ответ по обращению №{id} сохранён, но доставить его некому: житель удалил регистрацию."
)
ANSWER_CLOSED = "Обращение №{id} закрыто — ответ не отправлен."
ANSWER_EMPTY = "Ответ должен быть текстом или фотографией с подписью."
ANSWER_TOO_LONG = "Ответ слишком длинный: можно не больше {limit} символов."
REPLY_USAGE = (
    "Как ответить: <code>/reply 12 текст ответа</code> или ответьте (reply) на пост обращения."
)

# --- /stats ---------------------------------------------------------------------------------------
STATS_TITLE = "Статистика"
STATS_RESIDENTS = (
    "Зарегистрировано: {registered}, из них недоступны (заблокировали бота): {unreachable}"
)
STATS_ACCOUNTS = "Привязано: {accounts}; привязок всего: {links}"
STATS_READINGS_ORG = (
    "Показания за {period} — {org}: {covered} из {meters} ({share}); жители передали {readings}"
)
STATS_READINGS_NONE = "Показания: счётчиков пока нет"
STATS_APPEALS = (
    "Обращения: новые — {new}, в работе — {in_work}, есть ответ — {answered}, закрыты — {closed}"
)
STATS_APPEALS_UNPOSTED = "Не доставлены в чат операторов: {n}"
STATS_PUSH = "Последняя рассылка квитанций: {period}, начата {started}, статус: {status}. {figures}"
STATS_PUSH_FIGURES = "Отправлено: {sent}, не доставлено: {failed}, заблокировали бота: {blocked}"
STATS_PUSH_NONE = "Рассылок квитанций ещё не было"
PUSH_STATUSES = {
    "requested": "в очереди",
    "running": "идёт",
    "done": "завершена",
    "failed": "прервана",
}

# --- emergencies, answer days, overdue (issue 16, point 10) --------------------------------------
POST_EMERGENCY = "🚨🚨🚨 <b>АВАРИЯ</b> — закреплено, пока обращение не возьмут в работу\n"
POST_DUE = "\nОтветить до: {due}"
OPEN_TITLE = "<b>Ждут ответа</b>: {total}, из них просрочено: {overdue}"
OPEN_NONE = "Обращений, ждущих ответа, нет."
OPEN_OVERDUE = "⏰ <b>Просрочены</b>"
OPEN_WAITING = "⏳ <b>В срок</b>"
OPEN_LINE = "{icon}№{id} · {topic} · {status} · ответить до {due}"
OPEN_NO_DUE = "без срока"
OPEN_MORE = "… и ещё {n}. Все обращения: <code>python -m bot appeals</code>."
STATS_APPEALS_OVERDUE = "Просрочены (нет ответа в срок): {n}"


# --- /announce ------------------------------------------------------------------------------------
ANNOUNCE_CHOOSE_ORG = "Объявление. Выберите организацию:"
ANNOUNCE_CHOOSE_SCOPE = "Кому отправить объявление в «{org}»?"
BTN_WHOLE_ORG = "Всем жителям организации"
ANNOUNCE_CHOOSE_HOUSE = (
    "Выберите дом (страница {page} из {pages}) или напишите часть адреса, чтобы найти его:"
)
ANNOUNCE_HOUSES_FOUND = "Найдено домов: {n}. Выберите дом:"
ANNOUNCE_HOUSE_NOT_FOUND = (
    "Дом с таким адресом не найден. Напишите иначе или выберите кнопкой выше."
)
ANNOUNCE_ASK_TEXT = (
    "Получатели: {scope} — {recipients}.\nНапишите текст объявления (не больше {limit} символов)."
)
ANNOUNCE_PREVIEW = "<b>Так объявление увидят жители</b> ({recipients}):"
ANNOUNCE_CONFIRM = "Отправить объявление: {scope} — {recipients}?"
BTN_ANNOUNCE_SEND = "✅ Отправить"
BTN_ANNOUNCE_CANCEL = "Отмена"
ANNOUNCE_STARTED = "Рассылка объявления №{id} началась: {recipients}. Сообщу, когда закончится."
ANNOUNCE_DONE = "Объявление №{id} разослано. Доставлено: {sent}, заблокировали бота: {blocked}, ошибки: {failed}."
ANNOUNCE_CANCELLED = "Объявление не отправлено."
ANNOUNCE_NO_ORGS = "Организаций пока нет: сначала загрузите данные."
ANNOUNCE_NO_RECIPIENTS = "В выбранном доме или организации нет зарегистрированных жителей."
ANNOUNCE_HINT_SCOPE = "Выберите организацию кнопкой выше или отправьте /cancel."
ANNOUNCE_HINT_TEXT = "Пришлите текст объявления одним сообщением или отправьте /cancel."
ANNOUNCE_HINT_CONFIRM = "Нажмите «Отправить» или «Отмена» под предпросмотром."
ANNOUNCE_TOO_LONG = "Текст слишком длинный: {length} символов, а можно не больше {limit}."
ANNOUNCE_SCOPE_ORG = "все жители «{org}»"
ANNOUNCE_SCOPE_HOUSE = "жители дома {address}"
ANNOUNCEMENT = "📢 <b>Объявление</b> — {org}\n\n{text}"


def residents(n: int) -> str:
    return count(n, "житель", "жителя", "жителей")


def accounts(n: int) -> str:
    return count(n, "лицевой счёт", "лицевых счёта", "лицевых счетов")


def meters(n: int) -> str:
    return count(n, "счётчик", "счётчика", "счётчиков")


def of_meters(n: int) -> str:
    """After «из»: из 1 счётчика, из 3 счётчиков, из 21 счётчика (genitive)."""
    return count(n, "счётчика", "счётчиков", "счётчиков")


def readings(n: int) -> str:
    return count(n, "показание", "показания", "показаний")


def stats(figures: Any) -> str:
    """Plain text (the caller escapes it for Telegram): the same report in the CLI and /stats."""
    lines = [
        STATS_TITLE,
        STATS_RESIDENTS.format(
            registered=residents(figures.registered), unreachable=figures.unreachable
        ),
        STATS_ACCOUNTS.format(accounts=accounts(figures.linked_accounts), links=figures.links),
    ]
    if not figures.readings:
        lines.append(STATS_READINGS_NONE)
    for item in figures.readings:
        lines.append(
            STATS_READINGS_ORG.format(
                period=fmt.month(item.period),
                org=item.organization,
                covered=item.covered,
                meters=of_meters(item.meters),
                share=f"{fmt.decimal_ru(item.share, 1)}{fmt.NBSP}%",
                readings=readings(item.readings),
            )
        )
    lines.append(
        STATS_APPEALS.format(
            **{k: figures.appeals.get(k, 0) for k in ("new", "in_work", "answered", "closed")}
        )
    )
    if figures.unposted_appeals:
        lines.append(STATS_APPEALS_UNPOSTED.format(n=figures.unposted_appeals))
    if figures.overdue_appeals:
        lines.append(STATS_APPEALS_OVERDUE.format(n=figures.overdue_appeals))
    push = figures.last_push
    if push is None:
        lines.append(STATS_PUSH_NONE)
    else:
        lines.append(
            STATS_PUSH.format(
                period=fmt.month(push.period),
                started=push.started_at.strftime("%d.%m.%Y %H:%M UTC"),
                status=PUSH_STATUSES.get(push.status, push.status),
                figures=STATS_PUSH_FIGURES.format(
                    sent=push.deliveries.get("sent", 0),
                    failed=push.deliveries.get("failed", 0),
                    blocked=push.deliveries.get("blocked", 0),
                ),
            )
        )
    return "\n".join(lines)
