"""«Не нашли свой счёт?»: a resident who cannot find (or link) their account still reaches the
managing organization — from every linking step and every "no linked account" screen."""

from __future__ import annotations

import pytest

from keyboards.callbacks import NotFound
from storage.demo import GOLDEN_NUMBER
from tests import factories
from tests.harness import inline_buttons
from tests.test_appeals import OPS, appeals_in_db, last, messages_in_db, sent_to
from tests.test_linking import walk_to_golden
from texts.ru import accounts as ta
from texts.ru import appeals as t
from texts.ru import common as tc

DEK = 'АО "ДЭК"'


@pytest.fixture
async def newcomer(session):
    """A registered resident with nothing linked; the demo organization with its golden account."""
    person = await factories.resident(session)
    account = await factories.golden(session)
    await session.commit()
    return person, account


def offered(client) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


async def test_no_account_screens_offer_writing_to_the_organization(client, newcomer) -> None:
    for section in (tc.BTN_ACCOUNTS, tc.BTN_READINGS, tc.BTN_RECEIPTS, tc.BTN_APPEALS):
        await client.send(section)
        assert tc.NO_ACCOUNTS in client.last_text(), section
        assert tc.BTN_NOT_FOUND in offered(client), section


async def test_an_appeal_without_an_account_reaches_the_operators(
    client, session_factory, newcomer
) -> None:
    person, _ = newcomer
    await client.send(tc.BTN_APPEALS)
    await client.click(tc.BTN_NOT_FOUND)  # one organization: nothing to choose
    assert t.UNLINKED_ASK_ADDRESS.format(org=DEK) == client.last_text()
    await client.send("🙂")  # not an address: asked again, nothing stored
    assert client.last_text() == t.UNLINKED_ADDRESS_HINT
    await client.send("ул. Ленина, д. 1, кв. 77")
    assert "Адрес: ул. Ленина, д. 1, кв. 77" in client.last_text()
    await client.send("Не могу найти свой лицевой счёт, квартира куплена в марте.")

    [appeal] = await appeals_in_db(session_factory)
    assert appeal.account_id is None and appeal.resident_id == person.id
    assert appeal.address == "ул. Ленина, д. 1, кв. 77" and appeal.organization_id is not None
    [message] = await messages_in_db(session_factory, appeal.id)
    assert message.text.startswith("Не могу найти свой лицевой счёт")
    assert appeal.answer_due is not None  # the organization's answer time (issue 16, point 10)
    sent = t.UNLINKED_SENT.format(id=appeal.id, org=DEK) + "\n" + t.answer_by(appeal.answer_due)
    assert last(client) == sent

    [post] = sent_to(client.session, OPS)
    assert f"Обращение №{appeal.id}" in post.text
    assert "Без привязанного счёта" in post.text and DEK in post.text
    assert "ул. Ленина, д. 1, кв. 77" in post.text and "+79990000001" in post.text

    # the resident follows it like any other appeal
    await client.click(t.BTN_OPEN_THREAD)
    thread = last(client)
    assert f"Обращение №{appeal.id}" in thread and "ул. Ленина, д. 1, кв. 77" in thread


async def test_every_linking_step_offers_it_with_the_organization_chosen(
    client, session_factory, newcomer
) -> None:
    await client.send("/link")
    assert tc.BTN_NOT_FOUND in offered(client)  # the organizations
    await client.click(DEK, exact=True)
    assert tc.BTN_NOT_FOUND in offered(client)  # the houses
    await walk_to_golden(client)  # ... apartments, accounts, the proof
    assert client.last_text().startswith(f"<b>л/с № {GOLDEN_NUMBER}</b>")
    assert tc.BTN_NOT_FOUND in offered(client)
    await client.click(tc.BTN_NOT_FOUND)  # the organization is known: straight to the address
    assert client.last_text() == t.UNLINKED_ASK_ADDRESS.format(org=DEK)
    await client.send("2383,29")  # the linking dialogue is over: this is the address now
    assert "Адрес: 2383,29" in client.last_text()
    await client.click(t.BTN_CANCEL)
    assert client.last_text() == t.NOT_SENT
    assert await appeals_in_db(session_factory) == []
    assert ta.LINKED.format(number=GOLDEN_NUMBER) not in client.texts()


async def test_several_organizations_are_chosen_from_and_forged_ones_refused(
    client, session, session_factory, newcomer
) -> None:
    await factories.organization(session, name="ООО «Амур»")
    await session.commit()
    await client.send(tc.BTN_RECEIPTS)
    await client.click(tc.BTN_NOT_FOUND)
    assert client.last_text() == t.UNLINKED_CHOOSE_ORG
    assert {DEK, "ООО «Амур»"} <= set(offered(client))
    await client.click("ООО «Амур»")
    assert client.last_text() == t.UNLINKED_ASK_ADDRESS.format(org="ООО «Амур»")
    for forged in (999_999, -1, 2**63):
        await client.callback(NotFound(org_id=forged).pack())
    assert client.alerts()[-3:] == [tc.STALE_BUTTON] * 3
    assert await appeals_in_db(session_factory) == []
