"""The organizations' contacts: imported with the organizations file (ours, or Russian headers
as the flat registry's world writes them), shown in /help, «📞 Контакты» and on the card."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from keyboards.callbacks import OpenCard, OpenContacts
from keyboards.menu import MENU_BUTTONS
from storage.importer import ImportFailed, import_files
from storage.models import Organization
from tests import factories
from tests.harness import inline_buttons, reply_buttons
from texts.ru import common as tc
from texts.ru import contacts as t

ROOT = Path(__file__).resolve().parent.parent
FLAT_ORGANIZATIONS = ROOT / "samples" / "flat" / "организации.csv"
OUR_ORGANIZATIONS = ROOT / "samples" / "01_organizations.csv"


async def organization(session_factory, code: str) -> Organization:
    async with session_factory() as s:
        org = await s.scalar(select(Organization).where(Organization.code == code))
        assert org is not None
        return org


async def test_the_flat_worlds_organizations_file_brings_the_contacts(
    engine: AsyncEngine, session_factory
) -> None:
    """Russian headers in Windows-1251: «Телефон», «E-mail», «Адрес», «Часы приёма»,
    «Аварийная служба», «Срок ответа, раб. дней» — the header alone says what each column is."""
    _summary, plan = await import_files(engine, [FLAT_ORGANIZATIONS])
    [info] = plan.files
    assert info.kind == "organizations" and "Windows-1251" in info.description
    org = await organization(session_factory, "dek")
    assert (org.name, org.phone, org.email) == (
        'АО "ДЭК"',
        "+7 (4212) 00-00-00",
        "info@dek.example",
    )
    assert org.address == "680000, г. Хабаровск, ул. Фрунзе, д. 49"
    assert org.office_hours == "пн–пт 9:00–18:00, обед 13:00–14:00"
    assert (org.emergency_phone, org.answer_days) == ("+7 (4212) 00-00-05", 3)


async def test_dispatch_header_and_an_update_that_leaves_the_bank_details_alone(
    engine: AsyncEngine, session_factory, tmp_path: Path
) -> None:
    await import_files(engine, [OUR_ORGANIZATIONS])
    before = await organization(session_factory, "uk-amur")
    assert before.emergency_phone == "+7 (4212) 45-00-05" and before.answer_days == 2
    update = tmp_path / "контакты.csv"
    update.write_text(
        "Код;Наименование;Диспетчерская;Часы работы\n"
        'uk-amur;ООО "УК Амурская";8 800 100-00-00;круглосуточно\n',
        encoding="utf-8",
    )
    await import_files(engine, [update])
    after = await organization(session_factory, "uk-amur")
    assert (after.emergency_phone, after.office_hours) == ("8 800 100-00-00", "круглосуточно")
    # columns the file did not have stay as they were
    assert (after.settlement_account, after.email, after.answer_days) == (
        before.settlement_account,
        "info@uk-amur.example",
        2,
    )


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("E-mail", "не адрес", "не похоже на адрес электронной почты"),
        ("Срок ответа, раб. дней", "0", "нужно число от 1 до 30"),
    ],
)
async def test_bad_contacts_are_refused_with_the_line_and_nothing_is_loaded(
    engine: AsyncEngine, session_factory, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    path = tmp_path / "организации.csv"
    path.write_text(f"Код;Наименование;{column}\nx1;ООО Тест;{value}\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        await import_files(engine, [path])
    [problem] = [str(p) for p in caught.value.problems.items]
    assert problem.startswith(f"{path}:2:") and reason in problem
    async with session_factory() as s:
        assert await s.scalar(select(Organization).where(Organization.code == "x1")) is None


# --- what a resident sees ---------------------------------------------------------------------


async def test_help_menu_and_card_show_the_organizations_contacts(client, session) -> None:
    person = await factories.resident(session)
    org = await factories.organization(
        session,
        name='ООО "УК <Север>"',
        phone="+7 (4212) 11-22-33",
        email="uk@sever.example",
        address="г. Хабаровск, ул. Ленина, д. 2",
        office_hours="пн–пт 9–18",
        emergency_phone="+7 (4212) 99-99-99",
        answer_days=1,
    )
    account = await factories.account(session, org)
    await factories.link(session, person, account)
    await session.commit()

    expected = [
        'ООО "УК &lt;Север&gt;"',  # escaped: a name is text
        "🚨 Аварийная служба: +7 (4212) 99-99-99",
        "☎️ Телефон: +7 (4212) 11-22-33",
        "✉️ E-mail: uk@sever.example",
        "📍 Адрес: г. Хабаровск, ул. Ленина, д. 2",
        "🕘 Часы приёма: пн–пт 9–18",
        "Ответ на обращение — в течение 1 рабочего дня.",
    ]
    await client.send("/help")
    help_text = client.last_text()
    assert t.HELP_TITLE in help_text
    for line in expected:
        assert line in help_text

    assert tc.BTN_CONTACTS in reply_buttons(client.replies[-1].reply_markup)
    await client.send(tc.BTN_CONTACTS)
    for line in expected:
        assert line in client.last_text()

    await client.callback(OpenCard(account_id=account.id).pack())
    card_buttons = {
        b.text: b.callback_data for b in inline_buttons(client.bot_messages()[-1].reply_markup)
    }
    assert card_buttons[tc.BTN_CONTACTS] == OpenContacts(account_id=account.id).pack()
    await client.click(tc.BTN_CONTACTS)
    shown = client.last_text()
    assert shown.startswith(t.TITLE_ONE)
    for line in expected:
        assert line in shown
    await client.click(tc.BTN_BACK)  # back to the card
    assert tc.BTN_CONTACTS in [
        b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)
    ]


async def test_several_organizations_each_with_its_contacts(client, session) -> None:
    person = await factories.resident(session)
    first = await factories.organization(session, name="УК Первая", emergency_phone="01-01")
    second = await factories.organization(
        session, name="Водоканал", emergency_phone="", phone="05-05", answer_days=5
    )
    for org in (first, second, first):  # two accounts of the first: it is listed once
        await factories.link(session, person, await factories.account(session, org))
    await session.commit()

    await client.send(tc.BTN_CONTACTS)
    text = client.last_text()
    assert text.count("УК Первая") == 1 and text.index("УК Первая") < text.index("Водоканал")
    assert "🚨 Аварийная служба: 01-01" in text
    second_block = text[text.index("Водоканал") :]
    assert "Аварийная служба" not in second_block  # no line for what was not imported
    assert "в течение 5 рабочих дней" in second_block
    await client.send("/help")
    assert t.HELP_TITLE_MANY in client.last_text()


async def test_before_linking_every_organization_is_listed(client, session) -> None:
    await factories.resident(session)
    await factories.organization(session, name="УК Единственная", email="", emergency_phone="")
    await session.commit()
    await client.send(tc.BTN_CONTACTS)
    assert t.NONE_LINKED in client.last_text() and "УК Единственная" in client.last_text()
    await client.send("/help")
    assert t.HELP_TITLE_ALL in client.last_text()


async def test_an_unregistered_user_gets_help_with_contacts_and_no_menu(client, session) -> None:
    await factories.organization(session, name="УК Для всех", emergency_phone="112-01")
    await session.commit()
    await client.send("/help")
    assert "УК Для всех" in client.last_text() and "112-01" in client.last_text()
    await client.send(tc.BTN_CONTACTS)
    assert client.last_text() == tc.NOT_REGISTERED


async def test_contacts_of_an_account_not_linked_are_refused(client, session) -> None:
    await factories.resident(session)
    stranger = await factories.account(session)
    await session.commit()
    await client.callback(OpenContacts(account_id=stranger.id).pack())
    assert client.alerts() == [tc.ACCOUNT_NOT_AVAILABLE]


def test_the_menu_has_the_contacts_button() -> None:
    assert tc.BTN_CONTACTS in MENU_BUTTONS
