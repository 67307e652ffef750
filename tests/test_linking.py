"""Linking a personal account: the walk through the directory, proofs, limits, and forgery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from aiogram.types import PhotoSize, Sticker
from sqlalchemy import func, select

from keyboards.accounts import (
    LinkAccounts,
    LinkApartments,
    LinkHouses,
    LinkPick,
    LinkStart,
)
from keyboards.callbacks import OpenCard
from services.linking import TypedTotal, parse_total
from storage.demo import GOLDEN_HOLDER, GOLDEN_NUMBER, GOLDEN_PHONE
from storage.models import AccountLink, Charge, House, LinkAttempt, Service
from storage.periods import add_months
from storage.repo import linking
from tests import factories
from tests.databases import dialogue
from tests.harness import inline_buttons
from texts.ru import accounts as t
from texts.ru import common as tc

ORG = 'АО "ДЭК"'
GOLDEN_ADDRESS = "г. Хабаровск, ул. Ленина, д. 1"
STICKER = Sticker(
    file_id="s", file_unique_id="s", type="regular", width=1, height=1, is_animated=False,
    is_video=False,
)  # fmt: skip
PHOTO = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
HUGE = 2**62


@pytest.fixture
async def golden(session):
    account = await factories.golden(session)
    await session.commit()
    return account


@pytest.fixture
async def anna(session, golden):
    """Registered, with a phone that is not the one on record for the golden account."""
    person = await factories.resident(session, telegram_id=1001, phone="+79990000001")
    await session.commit()
    return person


async def links(session, resident_id=None) -> list[AccountLink]:
    query = select(AccountLink).execution_options(populate_existing=True)
    if resident_id is not None:
        query = query.where(AccountLink.resident_id == resident_id)
    return list(await session.scalars(query))


async def attempts(session) -> list[LinkAttempt]:
    query = select(LinkAttempt).order_by(LinkAttempt.id).execution_options(populate_existing=True)
    return list(await session.scalars(query))


async def walk_to_golden(client) -> None:
    await client.send("/link")
    await client.click(ORG, exact=True)
    await client.click(GOLDEN_ADDRESS)
    await client.click("кв. 1", exact=True)
    await client.click(f"л/с № {GOLDEN_NUMBER}")


async def test_linking_by_the_total_of_the_last_receipt(client, session, golden, anna) -> None:
    await walk_to_golden(client)
    assert t.PROOF_ASK.split("\n")[-1][:40] in client.last_text()
    await client.send("2383,29")
    assert client.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)
    buttons = inline_buttons(client.replies[-1].reply_markup)
    assert buttons[0].callback_data == OpenCard(account_id=golden.id).pack()
    assert buttons[1].callback_data == LinkStart().pack()
    (made,) = await links(session, anna.id)
    assert (made.account_id, made.method) == (golden.id, "receipt_total")
    assert [(a.method, a.success) for a in await attempts(session)] == [("receipt_total", True)]


@pytest.mark.parametrize("typed", ["2383.29", "2 383,29", "2\u00a0383,29", "2383", "2383,29 ₽"])
async def test_the_total_may_be_typed_the_usual_ways(client, session, golden, anna, typed) -> None:
    await walk_to_golden(client)
    await client.send(typed)
    assert client.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)


async def test_a_total_of_the_three_last_receipts_counts_and_older_does_not(
    client, session, golden, anna
) -> None:
    totals = await linking.recent_totals(session, golden.id, count=4)
    assert totals[0][0] == dt.date(2020, 3, 1)
    assert totals[0][1] == Decimal("2383.29")
    fourth = totals[3][1]
    assert fourth not in {total for _, total in totals[:3]}
    await walk_to_golden(client)
    await client.send(f"{fourth}".replace(".", ","))
    assert client.last_text() == t.PROOF_WRONG
    assert await links(session) == []
    await client.send(f"{totals[2][1]}")
    assert client.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)


async def test_a_matching_phone_links_at_once(client, session, golden) -> None:
    person = await factories.resident(session, phone=GOLDEN_PHONE)
    await session.commit()
    await walk_to_golden(client)
    assert client.last_text() == t.LINKED_BY_PHONE.format(number=GOLDEN_NUMBER)
    (made,) = await links(session, person.id)
    assert made.method == "phone"
    assert [(a.method, a.success) for a in await attempts(session)] == [("phone", True)]


async def test_already_linked_says_so(client, session, golden, anna) -> None:
    await factories.link(session, anna, golden)
    await session.commit()
    await walk_to_golden(client)
    assert client.last_text() == t.ALREADY_LINKED.format(number=GOLDEN_NUMBER)
    assert len(await links(session)) == 1


async def test_several_accounts_per_resident_and_residents_per_account(
    client, make_client, session, golden, anna
) -> None:
    second = await factories.account(session, await golden.awaitable_attrs.organization, number="77777777",
                                     address="г. Хабаровск, ул. Мира, д. 7")  # fmt: skip
    session.add(Charge(account_id=second.id, period=dt.date(2020, 3, 1),
                       service_id=(await session.scalar(select(Service.id))), closing=Decimal("100.50")))  # fmt: skip
    await factories.resident(session, telegram_id=1002, phone="+79990000002")
    await session.commit()

    await walk_to_golden(client)
    await client.send("2383,29")
    await client.click(t.BTN_ADD_ANOTHER)
    await client.click(ORG, exact=True)
    await client.click("ул. Мира")
    await client.click("кв. 5", exact=True)
    await client.click("л/с № 77777777")
    await client.send("100,50")
    assert sorted(link.account_id for link in await links(session, anna.id)) == sorted(
        [golden.id, second.id]
    )

    boris = make_client(1002)
    await walk_to_golden(boris)
    await boris.send("2383")
    assert boris.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)
    assert len([x for x in await links(session) if x.account_id == golden.id]) == 2


async def test_lists_before_linking_show_no_personal_data(client, session, golden, anna) -> None:
    await walk_to_golden(client)
    await client.send("1,00")  # a wrong proof: still nothing personal
    shown = client.texts() + [
        button.text for message in client.bot_messages()
        for button in inline_buttons(message.reply_markup)
    ]  # fmt: skip
    everything = "\n".join(shown)
    for secret in (GOLDEN_HOLDER, "Иванов", GOLDEN_PHONE, "2 383", "2383", "1 246", "₽"):
        assert secret not in everything, secret


async def test_houses_are_paged_and_found_by_street(client, session, golden, anna) -> None:
    org = await golden.awaitable_attrs.organization
    for n in range(1, 21):
        session.add(House(organization_id=org.id, code=f"p{n}", address=f"г. Хабаровск, ул. Пушкина, д. {n:02d}",
                          street="ул. Пушкина", search_text=f"г. хабаровск, ул. пушкина, д. {n:02d}"))  # fmt: skip
    await session.commit()
    await client.send("/link")
    await client.click(ORG, exact=True)
    assert t.PAGE.format(page=1, pages=3) in client.last_text()
    first_page = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert len([x for x in first_page if "Хабаровск" in x]) == linking.PAGE_SIZE
    assert tc.BTN_BACK in first_page
    await client.click(tc.BTN_NEXT, exact=True)
    assert t.PAGE.format(page=2, pages=3) in client.last_text()
    await client.click(tc.BTN_NEXT, exact=True)
    assert t.PAGE.format(page=3, pages=3) in client.last_text()
    await client.click(tc.BTN_PREV, exact=True)
    assert t.PAGE.format(page=2, pages=3) in client.last_text()

    await client.send("ЛЕНИНА")  # any case, a part of the street
    found = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert GOLDEN_ADDRESS in found and not any("Пушкина" in x for x in found)
    await client.send("пушкина, д. 1")
    found = [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]
    assert (
        sorted(x for x in found if "Пушкина" in x)
        == [f"г. Хабаровск, ул. Пушкина, д. {n}" for n in range(10, 20)][: linking.PAGE_SIZE]
    )
    await client.send("100%_")  # LIKE wildcards are plain characters
    assert "не найдено" in client.last_text()
    await client.click(t.BTN_CLEAR_SEARCH)
    assert t.PAGE.format(page=1, pages=3) in client.last_text()


async def test_every_step_has_back(client, session, golden, anna) -> None:
    await walk_to_golden(client)
    await client.click(tc.BTN_BACK)
    assert "Выберите номер лицевого счёта" in client.last_text()
    await client.click(tc.BTN_BACK)
    assert "Выберите квартиру" in client.last_text()
    await client.click(tc.BTN_BACK)
    assert "Выберите дом" in client.last_text()
    await client.click(tc.BTN_BACK)
    assert client.last_text() == t.CHOOSE_ORG


async def test_apartments_can_be_found_by_number(client, session, golden, anna) -> None:
    await client.send("/link")
    await client.click(ORG, exact=True)
    await client.click(GOLDEN_ADDRESS)
    await client.send("1")
    first, *_ = inline_buttons(client.bot_messages()[-1].reply_markup)
    assert first.text == "кв. 1"
    await client.send("99")
    assert "не найдено" in client.last_text()


async def test_a_typed_step_whose_place_is_gone_starts_the_dialogue_again(
    client, session, golden, anna
) -> None:
    """A house or an account that left the path taken (e.g. moved by a re-import) while the
    resident was typing: the directory from its beginning, nothing linked."""
    other_org = await factories.organization(session, name="ООО Другая")
    foreign = await factories.account(session, other_org, number="55555555")
    await session.commit()
    apartment = await golden.awaitable_attrs.apartment
    house = await session.get(House, apartment.house_id)

    await client.send("/link")
    await client.click(ORG, exact=True)
    await client.click(GOLDEN_ADDRESS)  # the apartment step: a number may be typed
    house.organization_id = other_org.id
    await session.commit()
    await client.send("1")
    assert client.last_text() == t.CHOOSE_ORG

    house.organization_id = golden.organization_id
    await session.commit()
    await walk_to_golden(client)  # the proof step: a total may be typed
    golden.apartment_id = foreign.apartment_id
    await session.commit()
    await client.send("2383,29")
    assert client.last_text() == t.CHOOSE_ORG
    assert await links(session) == []


async def captcha_answer(client) -> str:
    """The captcha's answer from the dialogue data, wherever the dispatcher keeps it."""
    _state, data = await dialogue(client.dp, client.user.id)
    return data["captcha"]


async def test_three_failures_bring_a_captcha_and_ten_a_wait(client, session, golden, anna) -> None:
    start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        await walk_to_golden(client)
        for _ in range(2):
            await client.send("1,00")
            assert client.last_text() == t.PROOF_WRONG
        assert client.sent("sendPhoto") == []
        await client.send("1,00")  # the third failure: from now on a captcha comes first
        (photo,) = client.sent("sendPhoto")
        assert photo.caption.startswith("Сумма не совпала")  # why, then what to do now
        assert "введите цифры с картинки" in photo.caption
        assert photo.photo.data.startswith(b"\x89PNG")

        await client.send("00000")  # a wrong captcha counts as a failure too
        assert client.sent("sendPhoto")[-1].caption == t.CAPTCHA_AGAIN
        assert len([a for a in await attempts(session) if not a.success]) == 4

        await client.send(await captcha_answer(client))
        assert client.last_text() == t.CAPTCHA_OK
        await client.send("1,00")  # wrong again: the next try needs a new captcha
        assert client.sent("sendPhoto")[-1].caption == t.PROOF_WRONG_CAPTCHA

        # Up to ten failures across accounts, then a wait until they age out of the day.
        for _ in range(5):
            await client.send(await captcha_answer(client))
            await client.send("1,00")
        failures = [a for a in await attempts(session) if not a.success]
        assert len(failures) == linking.BLOCK_AFTER
        assert client.last_text() == t.PROOF_WRONG + "\n\n" + t.PROOF_BLOCKED.format(
            time="11.03.2026 в 12:00 (мск)"
        )
        await walk_to_golden(client)  # choosing the account again: still waiting
        assert client.last_text().startswith(t.PROOF_BLOCKED[:40])
        assert await links(session) == []

        clock.shift(dt.timedelta(hours=24, minutes=1))  # the failures aged out of the day
        photos = len(client.sent("sendPhoto"))
        await walk_to_golden(client)
        assert client.last_text().startswith(f"<b>л/с № {GOLDEN_NUMBER}</b>")
        assert len(client.sent("sendPhoto")) == photos  # no captcha either
        await client.send("2383,29")
        assert client.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)


async def test_failures_of_yesterday_do_not_count(client, session, golden, anna) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        await walk_to_golden(client)
        for _ in range(3):
            await client.send("1,00")
        assert len(client.sent("sendPhoto")) == 1
        clock.shift(dt.timedelta(hours=25))
        await walk_to_golden(client)
        assert len(client.sent("sendPhoto")) == 1  # no captcha: a new day
        await client.send("2383,29")
        assert client.last_text() == t.LINKED.format(number=GOLDEN_NUMBER)


async def test_a_new_captcha_picture_on_request(client, session, golden, anna) -> None:
    await walk_to_golden(client)
    for _ in range(3):
        await client.send("1,00")
    first = await captcha_answer(client)
    await client.click(t.BTN_NEW_CAPTCHA)
    assert len(client.sent("sendPhoto")) == 2
    await client.send(await captcha_answer(client))
    assert client.last_text() == t.CAPTCHA_OK
    assert first  # the first picture had an answer too; only the newest one counts


async def test_forged_callbacks_reveal_and_change_nothing(
    client, make_client, session, golden, anna
) -> None:
    other_org = await factories.organization(session, name="ООО Другая")
    foreign = await factories.account(session, other_org, number="55555555", holder_name="Сидоров")
    await session.commit()
    foreign_house = await session.get(House, (await foreign.awaitable_attrs.apartment).house_id)

    await client.send("/link")
    await client.click(ORG, exact=True)  # browsing the golden organization
    forged = [
        (LinkApartments(house_id=foreign_house.id), t.STALE),  # a house of another organization
        (LinkAccounts(apartment_id=foreign.apartment_id), t.STALE),  # outside the path
        (LinkPick(account_id=foreign.id), t.STALE),  # an account outside the path
        (LinkPick(account_id=HUGE), t.STALE),  # ids beyond any key (and PostgreSQL's int4)
        (LinkApartments(house_id=HUGE), t.STALE),
        (LinkHouses(org_id=HUGE), t.STALE),
    ]
    for data, alert in forged:
        before = len(client.replies)
        await client.callback(data.pack())
        made = [m.__api_method__ for m in client.replies[before:]]
        assert made == ["answerCallbackQuery"], data  # only an alert
        assert client.alerts()[-1] == alert
    assert "Сидоров" not in "\n".join(client.texts() + client.alerts())
    assert await links(session) == [] and await attempts(session) == []

    # A proof typed after a forged pick cannot reach the foreign account either.
    await client.send("0")
    assert await links(session) == []

    # Garbage and huge numbers in callback data get a polite alert.
    for raw in ("lp:abc", "lh:", f"lp:{2**70}", "la:-1"):
        await client.callback(raw)
    assert await links(session) == []


async def test_unexpected_input_at_every_step_gets_the_steps_hint(
    client, session, golden, anna
) -> None:
    odd = [{"sticker": STICKER}, {"photo": PHOTO}, {"text": "я" * 5000}, {"text": "/readings"}]

    async def check(expected: str) -> None:
        for fields in odd:
            await client.send_message(**fields)
            assert client.last_text() == expected, fields

    await client.send("/link")
    await check(t.ORG_HINT)
    await client.click(ORG, exact=True)
    await check(t.HOUSE_HINT)
    await client.click(GOLDEN_ADDRESS)
    await check(t.APARTMENT_HINT)
    await client.click("кв. 1", exact=True)
    await check(t.ACCOUNT_HINT)
    await client.click(f"л/с № {GOLDEN_NUMBER}")
    await check(t.PROOF_HINT)
    await client.send("два рубля")
    assert client.last_text() == t.PROOF_HINT
    assert await attempts(session) == []  # not an amount: not a failed proof
    await client.send("/cancel")
    assert client.last_text() == tc.CANCELLED


async def test_a_menu_button_leaves_the_dialogue(client, session, golden, anna) -> None:
    await walk_to_golden(client)
    await client.send(tc.BTN_PROFILE)
    assert "Профиль" in client.last_text()
    await client.send("2383,29")  # no longer a proof
    assert await links(session) == []


async def test_the_offer_after_registration_opens_linking(client, session, golden) -> None:
    await client.send("/start")
    await client.click("Принимаю")
    await client.click("Даю согласие")
    await client.share_contact("79990000001")
    await client.click("Добавить лицевой счёт")
    assert client.last_text() == t.CHOOSE_ORG


async def test_unregistered_users_cannot_link(client, session, golden) -> None:
    await client.send("/link")
    assert client.last_text() == tc.NOT_REGISTERED
    await client.callback(LinkPick(account_id=golden.id).pack())
    assert client.alerts() == [tc.NOT_REGISTERED]


async def test_only_open_accounts_with_receipts_can_be_proved_by_total(
    client, session, golden, anna
) -> None:
    empty = await factories.account(session, await golden.awaitable_attrs.organization, number="12121212",
                                    address="г. Хабаровск, ул. Садовая, д. 3")  # fmt: skip
    await session.commit()
    await client.send("/link")
    await client.click(ORG, exact=True)
    await client.click("Садовая")
    await client.click("кв. 5", exact=True)
    await client.click("л/с № 12121212")
    assert client.last_text() == t.PROOF_NO_RECEIPTS
    assert empty.id not in [x.account_id for x in await links(session)]


def test_parse_total() -> None:
    assert parse_total("2 383,29") == TypedTotal(Decimal("2383.29"), False)
    assert parse_total("2383") == TypedTotal(Decimal("2383.00"), True)
    assert parse_total("-150,4") == TypedTotal(Decimal("-150.40"), False)
    assert parse_total("2383 руб.") == TypedTotal(Decimal("2383.00"), True)
    for bad in ("", "abc", "2,383,29", "1e5", "12.345", "9" * 30):
        assert parse_total(bad) is None, bad
    rubles = parse_total("2383")
    assert rubles.matches(Decimal("2383.29")) and rubles.matches(Decimal("2383.99"))
    assert not rubles.matches(Decimal("2384.00"))
    assert not parse_total("2383,30").matches(Decimal("2383.29"))


async def test_recent_totals_are_sums_of_closing_balances(session, golden) -> None:
    totals = dict(await linking.recent_totals(session, golden.id))
    assert list(totals) == [dt.date(2020, 3, 1), dt.date(2020, 2, 1), dt.date(2020, 1, 1)]
    feb = await session.scalars(
        select(Charge.closing).where(
            Charge.account_id == golden.id, Charge.period == add_months(dt.date(2020, 3, 1), -1)
        )
    )
    assert totals[dt.date(2020, 2, 1)] == sum(feb)
    assert await session.scalar(select(func.count()).select_from(AccountLink)) == 0
