"""Texts of the payments statement, the histories and the charts."""

# --- the payments statement -----------------------------------------------------------------------
STATEMENT_MENU = "💳 <b>Платежи · л/с № {number}</b>\nЗа какой период показать движение средств?"
BTN_SPAN_MONTH = "За {month}"
BTN_SPAN_3 = "За 3 месяца"
BTN_SPAN_12 = "За 12 месяцев"
BTN_SPAN_YEAR = "{year} год"

STATEMENT_TITLE = "💳 <b>Движение средств · л/с № {number}</b>\nПериод: {span}"
STATEMENT_START_DEBT = "Долг на начало периода: {amount}"
STATEMENT_START_OVERPAYMENT = "Переплата на начало периода: {amount}"
STATEMENT_CHARGED = "Начислено: + {amount}"
STATEMENT_RECALCULATION = "Перерасчёты: {sign} {amount}"
STATEMENT_PAID = "Оплачено: − {amount}"
STATEMENT_ADJUSTMENT = "Корректировка сальдо: {sign} {amount}"
STATEMENT_END_DEBT = "Долг на конец периода: <b>{amount}</b>"
STATEMENT_END_OVERPAYMENT = "Переплата на конец периода: <b>{amount}</b>"
STATEMENT_PAYMENTS_TITLE = "<b>Поступления</b> — {count}"
STATEMENT_PAYMENT = "{day} — {amount}{source}"
STATEMENT_NO_PAYMENTS = "Поступлений за период нет."
STATEMENT_MORE_PAYMENTS = "…и ещё {count} — в истории платежей."
STATEMENT_UNALLOCATED = (
    "<i>Поступило {received}, по услугам за эти месяцы учтено {paid}: остальное будет "
    "учтено в других месяцах.</i>"
)
PAYMENT_FORMS = ("платёж", "платежа", "платежей")
SPAN_ONE = "{month}"
SPAN_MANY = "{first} — {last}"

# --- histories --------------------------------------------------------------------------------------
HISTORY_MENU = "📚 <b>История · л/с № {number}</b>\nЧто показать?"
# «Что показать?» — the answers read as answers (they were genitives of «История …»)
BTN_CHARGES_HISTORY = "📊 Начисления"
BTN_PAYMENTS_HISTORY = "💳 Платежи"
BTN_ALL_PAYMENTS = "💳 История платежей"
BTN_READINGS_HISTORY = "🔢 Показания счётчиков"
BTN_APPEALS_HISTORY = "✉️ Обращения"
BTN_CHARGES_CHART = "📈 График начислений"
BTN_CONSUMPTION_CHART = "📈 График потребления"
BTN_OLDER = "◀ Ранее"
BTN_NEWER = "Позже ▶"

CHARGES_HISTORY_TITLE = "📊 <b>История начислений · л/с № {number}</b>"
CHARGES_HISTORY_LINE = (
    "<b>{month}</b> — к оплате {closing}\n"
    "    начислено {charged} · перерасчёт {recalculation} · оплачено {paid}"
)
CHARGES_HISTORY_HINT = "Нажмите месяц, чтобы увидеть начисления по услугам."
PAYMENTS_HISTORY_TITLE = "💳 <b>История платежей · л/с № {number}</b>"
PAYMENTS_HISTORY_LINE = "{day} — <b>{amount}</b>{source}\n    период: {month}"
PAYMENTS_HISTORY_EMPTY = "Платежей по счёту пока нет."
CHARGES_HISTORY_EMPTY = "Начислений по счёту пока нет."
PAGE_EMPTY = "Здесь записей больше нет."

# --- charts -------------------------------------------------------------------------------------------
CHART_PREPARING = "Готовлю график…"
CHART_NO_DATA = "Для графика пока нет данных."
CHARGES_CHART_TITLE = "Начисления по группам услуг, ₽ (без перерасчётов)"
CHARGES_CHART_CAPTION = "📈 Начисления по группам услуг за {span}, л/с № {number}"
CONSUMPTION_CHART_TITLE = "Потребление по счётчикам"
CONSUMPTION_CHART_CAPTION = "📈 Потребление по счётчикам за {span}, л/с № {number}"
CHART_NO_GROUP = "Прочее"

RESOURCES = {
    "cold_water": ("Холодная вода", "м³"),
    "hot_water": ("Горячая вода", "м³"),
    "heat": ("Тепловая энергия", "Гкал"),
    "electricity": ("Электроэнергия", "кВт·ч"),
    "gas": ("Газ", "м³"),
    "sewage": ("Водоотведение", "м³"),
}
ZONES = {"day": "день", "night": "ночь", "peak": "пик", "semipeak": "полупик"}
METER_LABEL = "{resource}{zone} № {serial}"
