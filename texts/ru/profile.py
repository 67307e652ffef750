"""The resident's profile: what is stored, subscriptions, changes, deletion."""

TITLE = "<b>👤 Профиль</b>"
PHONE = "Телефон: {phone}"
EMAIL = "Эл. почта: {email}"
EMAIL_NONE = "Эл. почта: не указана"
ACCOUNTS_TITLE = "Лицевые счета:"
ACCOUNT_LINE = "• л/с № {number} — {address}"
ACCOUNTS_NONE = "Лицевые счета: не привязаны"
PUSH_TELEGRAM = "Квитанции в Telegram: {state}"
PUSH_EMAIL = "Квитанции на почту: {state}"
REMINDERS = "Напоминания о показаниях: {state}"
NOTIFY_PAYMENTS = "Уведомления о поступлении оплаты: {state}"
NOTIFY_PAY_BY = "Напоминания о сроке оплаты: {state}"
NOTIFY_VERIFICATION = "Уведомления о поверке счётчиков: {state}"
ON = "включены"
OFF = "выключены"

BTN_PUSH_TELEGRAM = "Квитанции в Telegram: {mark}"
BTN_PUSH_EMAIL = "Квитанции на почту: {mark}"
BTN_REMINDERS = "Напоминания: {mark}"
BTN_NOTIFY_PAYMENTS = "Оплата поступила: {mark}"
BTN_NOTIFY_PAY_BY = "Срок оплаты: {mark}"
BTN_NOTIFY_VERIFICATION = "Поверка счётчиков: {mark}"
MARK_ON = "✅ вкл."
MARK_OFF = "выкл."
BTN_ADD_EMAIL = "📧 Указать почту"
BTN_CHANGE_EMAIL = "📧 Изменить почту"
BTN_PHONE = "📱 Подтвердить телефон заново"
BTN_UNLINK = "🔗 Отвязать счёт"
BTN_DELETE = "🗑 Удалить регистрацию"

PUSH_EMAIL_NEEDS_EMAIL = "Сначала укажите и подтвердите адрес электронной почты."
SAVED = "Сохранено."

EMAIL_ASK = "Пришлите новый адрес электронной почты. Мы отправим на него код подтверждения."
EMAIL_UNAVAILABLE = "Подтверждение электронной почты сейчас недоступно. Попробуйте позже."
EMAIL_CHANGED = "Адрес <b>{email}</b> подтверждён и сохранён в профиле."

PHONE_ASK = (
    "Нажмите кнопку «📱 Поделиться номером» внизу экрана, чтобы подтвердить номер заново. "
    "Отменить — /cancel."
)
PHONE_UPDATED = "Номер {phone} подтверждён."

UNLINK_CHOOSE = "Какой лицевой счёт отвязать?"
UNLINK_CONFIRM = (
    "Отвязать лицевой счёт <b>{number}</b> ({address})? Вы перестанете "
    "видеть его начисления и получать по нему квитанции. Привязать снова можно в любой момент."
)
BTN_UNLINK_YES = "Да, отвязать"
UNLINKED = "Лицевой счёт <b>{number}</b> отвязан."

DELETE_CONFIRM = (
    "<b>Удалить регистрацию?</b>\n\n"
    "Будут сразу удалены ваш телефон, почта, привязки к лицевым счетам и подписки. Обращения "
    "останутся у организации без сведений об авторе. Данные расчётов по счетам сохранятся у "
    "организации. Отменить удаление будет нельзя."
)
BTN_DELETE_YES = "Да, удалить"
BTN_DELETE_NO = "Нет, оставить"
DELETED = (
    "Регистрация удалена, ваши персональные данные стёрты. Спасибо, что пользовались "
    "личным кабинетом! Чтобы зарегистрироваться снова, отправьте /start."
)
