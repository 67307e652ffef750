"""The operators' billing month in Telegram: files in, preview, load, receipts push, readings
export, past imports and undo."""

from __future__ import annotations

from texts.fmt import count, plural

BTN_LOAD = "✅ Загрузить"
BTN_CANCEL = "❌ Отмена"
BTN_PUSH = "📨 Разослать квитанции за {month} ({n})"
BTN_UNDO = "↩️ Отменить загрузку № {id}"
BTN_KEEP = "Не отменять"

RECEIVED = "📥 Принято файлов: {n}. Проверяю…"
NOT_BILLING_FILE = (
    "Файл «{name}» не похож на выгрузку биллинга: принимаются CSV, TXT, XLSX и ZIP с ними."
)
TOO_BIG = (
    "Файл «{name}» весит {size} МБ, а бот может скачать из Telegram не больше 20 МБ. "
    "Загрузите его на сервере командой <code>python -m bot import ФАЙЛ</code> "
    "или разбейте на части (например, ZIP по домам)."
)
DOWNLOAD_FAILED = "Не удалось скачать файл «{name}» из Telegram. Пришлите его ещё раз."
NOT_FOR_RESIDENTS = (
    "Спасибо! Файлы начислений принимают только операторы управляющей организации. "
    "Если хотите что-то сообщить, воспользуйтесь разделом «Обращения» в меню."
)

PREVIEW_TITLE = "🔎 <b>Проверка без загрузки</b>: {rows} в {files} — ошибок нет."
PREVIEW_FILE = "📄 <b>{name}</b>: {kind}, {rows}\n    {description}"
PREVIEW_PERIODS = "    периоды: {periods}"
PREVIEW_ACCOUNTS = "    лицевых счетов: {total} (новых {new}, известных {known})"
PREVIEW_MONEY = "    начислено {charged}, перерасчёт {recalculated}, оплачено {paid}"
PREVIEW_PAYMENTS = "    оплат на {paid}"
PREVIEW_SKIPPED = "    пропущено строк «Итого»: {n}"
PREVIEW_IGNORED = "    не загружаются столбцы: {columns}"
PREVIEW_CHANGE_TITLE = "\n<b>Что изменится</b>:"
PREVIEW_CHANGE_NEW = "• {month}: новый период — {accounts}, начислено {after}"
PREVIEW_CHANGE = (
    "• {month}: лицевых счетов {before} → {after} (+{added}, −{removed}); "
    "начислено {charged_before} → {charged_after}"
)
PREVIEW_ASK = "\nЗагрузить? Всё или ничего: при ошибке в базе ничего не изменится."
PREVIEW_CUT = "\n… полный отчёт — в файле ниже."
PREVIEW_REPORT_CAPTION = "Полный отчёт о проверке"

REFUSED_TITLE = (
    "⛔ <b>Не загружено</b>: {errors} в {files}. В базе ничего не изменилось.\n"
    "Исправьте файлы и пришлите их снова."
)
REFUSED_MORE = "… и ещё {n}: все ошибки — в файле ниже."
REFUSED_REPORT_CAPTION = "Все ошибки проверки"
REFUSED_REPORT_NAME = "oshibki_zagruzki.txt"
PREVIEW_REPORT_NAME = "proverka_zagruzki.txt"

CANCELLED = "❌ Загрузка отменена, файлы удалены."
EXPIRED = "Эта проверка устарела (файлы уже удалены). Пришлите файлы снова."
BUSY = "Эти файлы уже загружаются."
LOADING = "⏳ Загружаю…"
LOADING_STAGE = "⏳ Загружаю: {stage} — {done}{total} {unit}"
LOADED = "✅ <b>Загрузка № {id}</b>: загружено {rows}."
LOADED_PERIODS = "Периоды начислений: {periods}."
LOADED_NEW_PERIOD = "Опубликован новый период: {month}. Жители увидят его в личном кабинете."
LOAD_FAILED = "⛔ Загрузка не удалась, в базе ничего не изменилось. Попробуйте ещё раз."

PUSH_STARTED = (
    "📨 Рассылка квитанций за {month} поставлена в очередь: её ведёт планировщик бота, "
    "ход — в этом сообщении…"
)
PUSH_PROGRESS = (
    "📨 Квитанции за {month}: отправлено {sent} из {total}, недоступны {blocked}, "
    "ошибок {failed}; {rate} в секунду{eta}"
)
PUSH_ETA = ", осталось примерно {minutes} мин"
PUSH_DONE = (
    "✅ Квитанции за {month} разосланы: отправлено {sent} из {total}, недоступны {blocked}, "
    "ошибок {failed}."
)
PUSH_STALLED = (
    "⚠️ Рассылка квитанций за {month} не продвигается: отправлено {sent} из {total}. "
    "Планировщик бота продолжит её сам; если он выключен (SCHEDULER_ENABLED), запустите "
    "на сервере <code>python -m bot push --period {period}</code>."
)

IMPORTS_EMPTY = "Загрузок ещё не было."
IMPORTS_TITLE = "<b>Последние загрузки</b>:"
IMPORTS_ITEM = "№ {id} · {when} · {who}\n    {files}\n    периоды: {periods}; {rows}"
IMPORTS_BY = "оператор {id}"
IMPORTS_BY_UNKNOWN = "из командной строки"
IMPORTS_HINT = "\nОтменить загрузку: /undo_import N"
NO_PERIODS = "—"

UNDO_USAGE = "Напишите номер загрузки: /undo_import 12 (номера — в /imports)."
UNDO_NOT_FOUND = "Загрузки № {id} нет. Номера — в /imports."
UNDO_ASK = (
    "↩️ Отменить загрузку № {id}?\nПериоды: {periods}\n"
    "Данные этих периодов вернутся к тому, что было до неё."
)
UNDO_ASK_RECEIPTS = (
    "\n⚠️ Квитанции этих периодов уже {received}: отменить их нельзя, "
    "после отмены разошлите исправленные."
)
UNDO_DONE = "↩️ Загрузка № {id} отменена: периоды {periods} возвращены к прежним данным."
UNDO_KEPT = "Загрузка № {id} остаётся."
UNDO_IMPOSSIBLE = "Загрузку № {id} отменить нельзя: {reason}."

EXPORT_USAGE = "Напишите месяц так: /export_readings 04.2020 (без месяца — текущий)."
EXPORT_CAPTION = "Показания за {month}: {readings}, на проверку {review}."
EXPORT_EMPTY = "За {month} показаний нет."


def rows(n: int) -> str:
    return count(n, "строка", "строки", "строк")


def rows_in(n: int) -> str:
    """`в 2 таблицах` (prepositional)."""
    return f"{n} {plural(n, 'таблице', 'таблицах', 'таблицах')}"


def errors(n: int) -> str:
    return count(n, "ошибка", "ошибки", "ошибок")


def files_in(n: int) -> str:
    return f"{n} {plural(n, 'файле', 'файлах', 'файлах')}"


def accounts(n: int) -> str:
    return count(n, "лицевой счёт", "лицевых счёта", "лицевых счетов")


def to_residents(n: int) -> str:
    """`12 жителям` (dative): the push button."""
    return count(n, "жителю", "жителям", "жителям")


def residents(n: int) -> str:
    return count(n, "житель", "жителя", "жителей")


def readings(n: int) -> str:
    return count(n, "показание", "показания", "показаний")


def received(n: int) -> str:
    """`получил 1 житель`, `получили 5 жителей`."""
    return f"{plural(n, 'получил', 'получили', 'получили')} {residents(n)}"


# /photo: a reading's photo (the «Фото» column of the readings export)
PHOTO_USAGE = "Напишите так: /photo &lt;код фото&gt; — код из столбца «Фото» файла показаний."
PHOTO_UNKNOWN = "Фото с таким кодом среди показаний нет. Проверьте код в столбце «Фото»."
PHOTO_CAPTION = "л/с № {account}, счётчик {meter}, {period}: {value}"
