"""Right after registration, the accounts whose phone on record is the verified phone are offered
for linking in one tap each (issue 16, point 4); a forged account id in the button links nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keyboards.accounts import LinkByPhone
from storage.models import Account, AccountLink, Resident
from tests import factories
from tests.harness import BotClient, inline_buttons
from tests.test_registration import agree_and_consent
from texts.ru import accounts as ta
from texts.ru import card as tc
from texts.ru import common
from texts.ru import registration as t

PHONE = "+79991234567"


async def linked_numbers(session: AsyncSession, telegram_id: int = 1001) -> list[str]:
    session.expire_all()
    rows = await session.scalars(
        select(Account.number)
        .join(AccountLink, AccountLink.account_id == Account.id)
        .join(Resident, Resident.id == AccountLink.resident_id)
        .where(Resident.telegram_id == telegram_id)
        .order_by(Account.number)
    )
    return list(rows)


def offered(client: BotClient) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


async def test_accounts_with_the_verified_phone_are_linked_in_one_tap_each(
    client: BotClient, session: AsyncSession
) -> None:
    org = await factories.organization(session)
    await factories.account(session, org, number="11111111", phone=PHONE, apartment_number="12")
    await factories.account(session, org, number="22222222", phone=PHONE, apartment_number="7")
    await factories.account(session, org, number="33333333", phone="+79990000000")  # not hers
    closed = await factories.account(session, org, number="44444444", phone=PHONE)
    closed.closed = True
    await session.commit()

    await agree_and_consent(client)
    await client.share_contact("79991234567")
    assert client.texts()[-2] == t.DONE
    assert client.last_text() == ta.PHONE_OFFER
    buttons = offered(client)
    assert len(buttons) == 4  # her two open accounts, any other account, the menu
    assert buttons[0].startswith("➕ л/с № 11111111, г. Хабаровск, ул. Пушкина")
    assert buttons[1].startswith("➕ л/с № 22222222, г. Хабаровск, ул. Пушкина")
    assert buttons[2:] == [ta.BTN_LINK_OTHER, common.BTN_MENU]

    await client.click("11111111")
    assert "лицевой счёт <b>11111111</b> привязан сразу" in client.last_text()
    assert ta.PHONE_OFFER_MORE in client.last_text()
    assert any("22222222" in b for b in offered(client))  # the other one is still offered
    await client.click("22222222")
    assert not any("➕ л/с" in b for b in offered(client))  # nothing left to offer
    assert await linked_numbers(session) == ["11111111", "22222222"]

    await client.click(ta.BTN_OPEN_CARD)
    assert "22222222" in client.last_text() and tc.CARD_NO_CHARGES in client.last_text()


async def test_without_such_accounts_the_usual_linking_is_offered(
    client: BotClient, session: AsyncSession
) -> None:
    await factories.account(session, number="33333333", phone="+79990000000")
    await session.commit()
    await agree_and_consent(client)
    await client.share_contact("79991234567")
    assert client.last_text() == t.OFFER_LINK


async def test_a_forged_account_in_the_button_is_refused(
    client: BotClient, make_client, session: AsyncSession
) -> None:
    org = await factories.organization(session)
    mine = await factories.account(session, org, number="11111111", phone=PHONE)
    theirs = await factories.account(session, org, number="55555555", phone="+79990000005")
    await session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    await agree_and_consent(client)
    await client.share_contact("79991234567")

    await client.callback(LinkByPhone(account_id=theirs_id).pack())
    assert client.alerts()[-1] == ta.PHONE_OFFER_REFUSED
    await client.callback(LinkByPhone(account_id=10**12).pack())
    assert client.alerts()[-1] == ta.PHONE_OFFER_REFUSED
    assert await linked_numbers(session) == []

    # someone else's verified phone does not prove her account either
    stranger = make_client(2002)
    await factories.resident(session, telegram_id=2002, phone="+79990000005")
    await session.commit()
    await stranger.callback(LinkByPhone(account_id=mine_id).pack())
    assert stranger.alerts()[-1] == ta.PHONE_OFFER_REFUSED
    assert await linked_numbers(session, 2002) == []
