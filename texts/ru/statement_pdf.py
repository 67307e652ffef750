"""The account statement PDF («Выписка по лицевому счёту»): the chat's month pickers and the
labels printed on the document."""

# --- in the chat ---------------------------------------------------------------------------------

BTN_STATEMENT_PDF = "📄 Выписка PDF"
CHOOSE_FIRST = (
    "📄 <b>Выписка по л/с № {number}</b>\n"
    "Выберите <b>первый</b> месяц выписки (есть данные: {first} — {last}):"
)
CHOOSE_LAST = (
    "📄 <b>Выписка по л/с № {number}</b>\n"
    "С месяца: {first}. Выберите <b>последний</b> месяц выписки:"
)
BTN_EARLIER_YEAR = "◀ {year}"
BTN_LATER_YEAR = "{year} ▶"
BTN_OTHER_FIRST = "◀ Другой первый месяц"
BTN_BACK = "◀ Назад"
PREPARING = "Готовлю выписку…"
NO_CHARGES = "За эти месяцы начислений нет. Выберите другие месяцы."
TOO_LONG = "Выписка — не больше чем за {months} месяцев. Выберите месяцы поближе друг к другу."
CAPTION = "📄 Выписка по лицевому счёту № {number} за {span}.\n{balance}"
CAPTION_DEBT = "Долг на конец периода: <b>{amount}</b>"
CAPTION_OVERPAYMENT = "Переплата на конец периода: <b>{amount}</b>"
CAPTION_SETTLED = "На конец периода долга нет."
RENDER_FAILED = "Не удалось подготовить выписку. Пожалуйста, попробуйте ещё раз чуть позже."

# --- on the PDF ------------------------------------------------------------------------------------

PDF_TITLE = "ВЫПИСКА ПО ЛИЦЕВОМУ СЧЁТУ № {number}"
PDF_SPAN = "за период: {span}"
PDF_MADE_ON = "Сформирована {day}"
PDF_ORGANIZATION = "Организация"
PDF_ACCOUNT = "Лицевой счёт"
PDF_HOLDER = "ФИО"
PDF_ADDRESS = "Адрес"
PDF_TABLE = "Начисления и оплаты по месяцам, ₽"
PDF_MONTH = "Месяц"
# The per-month figures, by the key `services.statements.PDF_COLUMNS` gives them.
COLUMNS = {
    "opening": "Долг на начало",
    "charged": "Начислено",
    "penalties": "Пени",
    "benefits": "Льготы",
    "subsidies": "Субсидии",
    "recalculation": "Перерасчёт",
    "paid": "Оплачено",
    "closing": "Долг на конец",
}
PDF_TOTAL = "Итого за период"
PDF_NOTE_SIGN = "Долг со знаком «−» — переплата."
PDF_ADJUSTMENT = "Корректировка сальдо между месяцами: {amount}."
PDF_END_DEBT = "Долг на конец периода: {amount}"
PDF_END_OVERPAYMENT = "Переплата на конец периода: {amount}"
PDF_END_SETTLED = "На конец периода долга нет."
PDF_PAYMENTS = "Поступившие оплаты"
PDF_PAYMENT_COLUMNS = ("Дата", "Сумма, ₽", "Способ оплаты", "За месяц")
PDF_NO_PAYMENTS = "Оплат за период не поступало."
