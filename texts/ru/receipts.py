"""Receipts: the bot's messages and the labels printed on the PDF (ЕПД)."""

# --- in the chat ---------------------------------------------------------------------------------

CHOOSE_ACCOUNT = "Квитанцию по какому лицевому счёту вы хотите получить?"
CHOOSE_MONTH = "Лицевой счёт <b>{number}</b>, {address}.\nВыберите месяц квитанции:"
NO_PERIODS = "По лицевому счёту <b>{number}</b> пока нет начислений, поэтому и квитанций нет."
PERIOD_NOT_AVAILABLE = "За этот месяц квитанции нет. Выберите месяц из списка."
PREPARING = "Готовлю квитанцию…"
CAPTION = "Квитанция за {month}, л/с № {number}.\nИтого к оплате: <b>{total}</b>{pay_by}"
PUSH_CAPTION = (
    "Квитанция за {month}, л/с № {number}.\nИтого к оплате: <b>{total}</b>{pay_by}\n"
    "Отключить рассылку можно в разделе «Профиль»."
)
PAY_BY = "\nК оплате до {day}"
BTN_ACCOUNT = "л/с № {number} · {address}"
BTN_OLDER = "◀ Ранее"
BTN_NEWER = "Позже ▶"
RENDER_FAILED = "Не удалось подготовить квитанцию. Пожалуйста, попробуйте ещё раз чуть позже."

EMAIL_SUBJECT = "Квитанция за {month}, лицевой счёт {number}"
EMAIL_BODY = (
    "Здравствуйте!\n\n"
    "Во вложении — квитанция за {month} по лицевому счёту {number}.\n"
    "Итого к оплате: {total}.\n\n"
    "Оплатить можно по QR-коду на квитанции в приложении вашего банка.\n"
    "Отключить рассылку можно в разделе «Профиль» нашего бота в Telegram.\n"
)

# --- on the PDF ------------------------------------------------------------------------------------

PDF_TITLE = "ЕДИНЫЙ ПЛАТЁЖНЫЙ ДОКУМЕНТ"
PDF_SUBTITLE = "за {month}"
PDF_PAYEE = "Получатель платежа"
PDF_INN_KPP = "ИНН {inn}   КПП {kpp}"
PDF_ADDRESS = "Адрес: {address}"
PDF_PHONE = "Телефон: {phone}"
PDF_BANK = "Банк: {bank}"
PDF_BIC = "БИК {bic}   к/с {corr}"
PDF_SETTLEMENT = "р/с {account}"
PDF_PAYER = "Плательщик"
PDF_ACCOUNT = "Лицевой счёт"
PDF_HOLDER = "ФИО"
PDF_PAYER_ADDRESS = "Адрес"
PDF_AREA = "Площадь"
PDF_AREA_VALUE = "{area} м²"
PDF_OWNERSHIP = "Тип собственности"
PDF_PERIOD = "Расчётный период"
PDF_QR_CAPTION = "Оплата по QR-коду\nв приложении банка"
PDF_CHARGES = "Расчёт размера платы за коммунальные услуги"
PDF_COLUMNS = (
    "Услуга",
    "Ед. изм.",
    "Тариф",
    "Объём",
    "Долг на начало",
    "Начислено",
    "Перерасчёт",
    "Оплачено",
    "Итого",
)
PDF_GROUP_TOTAL = "Итого по группе"
PDF_GRAND_TOTAL = "ИТОГО"
PDF_COMMON_MARK = "ОДН"
PDF_RECALC_MARK = "*"
PDF_NOTE_COMMON = "ОДН — на общедомовые нужды."
PDF_NOTE_RECALC = "* — перерасчёт за прошлые периоды."
PDF_RECALCULATIONS = "Перерасчёты: "
PDF_METERS = "Показания приборов учёта за расчётный период"
PDF_METER_COLUMNS = ("Прибор учёта", "Заводской номер", "Предыдущие", "Текущие", "Расход", "Дата")
PDF_NO_METERS = "Приборов учёта нет."
PDF_NO_READING = "нет данных"
PDF_TO_PAY = "Итого к оплате: {total}"
PDF_OVERPAID = "Переплата: {amount}"
PDF_FOOTER = (
    "Оплатить можно по QR-коду в приложении банка, в отделении банка или в кассе организации. "
    "При оплате укажите номер лицевого счёта."
)

RESOURCES = {
    "cold_water": "Холодная вода",
    "hot_water": "Горячая вода",
    "heat": "Тепловая энергия",
    "electricity": "Электроэнергия",
    "gas": "Газ",
    "sewage": "Водоотведение",
}
ZONES = {"day": "день", "night": "ночь", "peak": "пик", "semipeak": "полупик"}
