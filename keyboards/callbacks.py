"""CallbackData shared across features: the entry points one feature's buttons open in another.

Feature-internal callbacks live in `keyboards/<feature>.py`. Prefixes are short and unique:
registration "g*", linking "l*", profile "p*", card and history "c*", readings "r*",
receipts "q*", appeals "a*", operators "o*", the main menu "m", contacts "k*", household "h*". All
ids are ints; data stays under 64 bytes.
Never trust the data: authorize `account_id` against the resident's links.
"""

from aiogram.filters.callback_data import CallbackData


class OpenMenu(CallbackData, prefix="m"):
    """«🏠 Меню» on every screen: the main menu (handled in handlers/common.py)."""


class OpenCard(CallbackData, prefix="c"):
    account_id: int


class OpenReadings(CallbackData, prefix="r"):
    """The account's meters, with how to send readings."""

    account_id: int


class ReadingsHistory(CallbackData, prefix="rh"):
    account_id: int
    meter_id: int = 0  # 0: all meters of the account
    page: int = 0
    via: int = 0  # 1: opened from the history menu, where «◀ Назад» leads back to


class OpenReceipts(CallbackData, prefix="q"):
    """The month picker for the account's receipt PDFs."""

    account_id: int


class NewAppeal(CallbackData, prefix="a"):
    account_id: int


class AppealsHistory(CallbackData, prefix="ah"):
    """Correspondence about the account (0: all of the resident's appeals)."""

    account_id: int = 0
    page: int = 0


class NotFound(CallbackData, prefix="nf"):
    """«Не нашли свой счёт?»: an appeal to an organization without a linked account (handled in
    handlers/appeals/unlinked.py). `org_id` 0: the organization is to be chosen first."""

    org_id: int = 0
    page: int = 0


class OpenContacts(CallbackData, prefix="k"):
    """The contacts of the account's organization («📞 Контакты» on the card)."""

    account_id: int
