"""Household (issue 16, point 14): a linked resident invites family with a one-time link; the
invitee is linked without a proof; the profile lists who has access and lets the inviter take it
back. Forged, reused, expired and revoked links, and a link whose inviter lost the account."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import time_machine
from sqlalchemy import func, select

from keyboards.household import HouseholdAct, HouseholdAction
from storage.models import Account, AccountLink, FsmRecord, HouseholdInvite
from tests import factories
from tests.harness import BotClient, inline_buttons
from tests.mailbox import mailbox_fixture  # noqa: F401  (the mailbox fixture)
from tests.test_appeals import last
from texts.ru import household as t
from texts.ru import profile as tp
from texts.ru import registration as tr

INVITER, INVITEE, OTHER = 1001, 2002, 3003
LINK = re.compile(r"https://t\.me/cabinet_test_bot\?start=([A-Za-z0-9_-]+)")


async def family(session):
    """Мария (linked to the account) and Анна (registered, nothing linked)."""
    maria = await factories.resident(session, telegram_id=INVITER, name="Мария Иванова")
    anna = await factories.resident(
        session, telegram_id=INVITEE, phone="+79990000002", name="Анна <Иванова>"
    )
    account = await factories.account(session, number="70000001")
    await factories.link(session, maria, account)
    await session.commit()
    return maria.id, anna.id, account.id  # ids: the tests expire the session to see new rows


async def invite(client: BotClient, number: str = "70000001") -> str:
    """The inviter's way to a link: profile → «Семья и доступ» → «Пригласить»."""
    await client.send("/profile")
    await client.click(t.BTN_HOUSEHOLD)
    await client.click(t.BTN_INVITE.format(number=number))
    invitation = next(text for text in reversed(said(client)) if "start=" in text)
    match = LINK.search(invitation)
    assert match is not None, invitation
    return match.group(1)


async def links_of(session, account_id: int) -> dict[int, str]:
    rows = await session.scalars(
        select(AccountLink)
        .where(AccountLink.account_id == account_id)
        .execution_options(populate_existing=True)
    )
    return {link.resident_id: link.method for link in rows}


def said(client: BotClient) -> list[str]:
    """What the bot sent or edited in this client's chat (the session is shared by clients)."""
    return [
        text
        for m in client.replies
        if getattr(m, "chat_id", None) in (client.chat.id, str(client.chat.id))
        and (text := getattr(m, "text", None))
    ]


def screen_buttons(client: BotClient) -> list[str]:
    return [b.text for b in inline_buttons(client.bot_messages()[-1].reply_markup)]


async def test_an_invite_links_family_once_and_stores_only_a_hash(
    make_client, session, session_factory
) -> None:
    maria, anna, account_id = await family(session)
    inviter, invitee = make_client(INVITER, "Мария"), make_client(INVITEE, "Анна")

    token = await invite(inviter)
    invitation = said(inviter)[-2]
    assert "70000001" in invitation and "до " in invitation and "один раз" in invitation
    session.expire_all()
    [stored] = list(await session.scalars(select(HouseholdInvite)))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.expires_at - stored.created_at == dt.timedelta(days=7)
    async with session_factory() as s:  # the token itself is nowhere in the database
        for record in await s.scalars(select(FsmRecord)):
            assert token not in str(record.data)

    await invitee.send(f"/start {token}")
    assert last(invitee).startswith("✅ Вам открыт доступ к <b>л/с № 70000001</b>")
    assert "«Мария Иванова»" in last(invitee)
    assert await links_of(session, account_id) == {maria: "phone", anna: "invite"}
    joined = [m.text for m in inviter.session.requests if getattr(m, "chat_id", None) == INVITER]
    assert t.JOINED_NOTICE.format(name="Анна &lt;Иванова&gt;", number="70000001") in joined

    # reused: by someone else, and by Анна again
    other = make_client(OTHER, "Олег")
    await factories.resident(session, telegram_id=OTHER, phone="+79990000003")
    await session.commit()
    await other.send(f"/start {token}")
    assert last(other) == t.USED
    await invitee.send(f"/start {token}")
    assert last(invitee) == t.USED
    assert set(await links_of(session, account_id)) == {maria, anna}


async def test_forged_and_own_links_change_nothing(make_client, session) -> None:
    maria, _anna, account_id = await family(session)
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    token = await invite(inviter)

    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    await invitee.send(f"/start {forged}")
    assert last(invitee) == t.UNKNOWN
    await invitee.send("/start " + hashlib.sha256(token.encode()).hexdigest()[:32])  # the hash
    assert last(invitee) == t.UNKNOWN
    await invitee.send("/start hello")  # not an invite at all: the ordinary /start
    assert last(invitee) == tr.WELCOME_BACK
    await inviter.send(f"/start {token}")
    assert last(inviter) == t.OWN
    assert set(await links_of(session, account_id)) == {maria}


async def test_an_expired_link_is_refused(make_client, session) -> None:
    await family(session)
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    with time_machine.travel(start, tick=False):
        token = await invite(inviter)
    with time_machine.travel(start + dt.timedelta(days=7, minutes=1), tick=False):
        await invitee.send(f"/start {token}")
    assert last(invitee) == t.EXPIRED
    with time_machine.travel(start + dt.timedelta(days=6, hours=23), tick=False):
        await invitee.send(f"/start {token}")  # still valid a minute before
    assert last(invitee).startswith("✅")


async def test_a_revoked_link_is_refused(make_client, session) -> None:
    maria, _anna, account_id = await family(session)
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    token = await invite(inviter)
    await inviter.send("/profile")
    await inviter.click(t.BTN_HOUSEHOLD)
    assert t.PENDING.split(":")[0] in last(inviter)
    [revoke] = [b for b in screen_buttons(inviter) if b.startswith("✖ Отозвать ссылку")]
    await inviter.click(revoke)
    assert inviter.alerts()[-1] == t.REVOKED
    assert not [b for b in screen_buttons(inviter) if b.startswith("✖ Отозвать")]
    await invitee.send(f"/start {token}")
    assert last(invitee) == t.REVOKED_LINK
    assert set(await links_of(session, account_id)) == {maria}


async def test_a_link_of_an_inviter_who_no_longer_has_the_account(make_client, session) -> None:
    _maria, _anna, account_id = await family(session)
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    token = await invite(inviter)
    await inviter.send("/profile")
    await inviter.click(tp.BTN_UNLINK)
    await inviter.click(next(b for b in screen_buttons(inviter) if "70000001" in b))
    await inviter.click(tp.BTN_UNLINK_YES)
    assert await links_of(session, account_id) == {}
    await invitee.send(f"/start {token}")
    assert last(invitee) == t.INVITER_LOST
    assert await links_of(session, account_id) == {}


async def test_a_newcomer_registers_first_then_the_link_applies(make_client, session) -> None:
    maria, _anna, account_id = await family(session)
    inviter = make_client(INVITER)
    token = await invite(inviter)
    newcomer = make_client(4004, "Коля")

    await newcomer.send(f"/start {token}")
    assert t.PENDING_REGISTRATION in said(newcomer)
    await newcomer.click(tr.BTN_ACCEPT)
    await newcomer.click(tr.BTN_CONSENT)
    await newcomer.share_contact("79994004004")
    texts = said(newcomer)
    assert tr.DONE in texts and texts[-1].startswith("✅ Вам открыт доступ к <b>л/с № 70000001")
    assert tr.OFFER_LINK not in texts  # an account is linked: nothing to offer
    linked = await links_of(session, account_id)
    assert linked[maria] == "phone" and sorted(linked.values()) == ["invite", "phone"]
    session.expire_all()
    assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 0


async def test_who_has_access_is_shown_to_residents_of_the_account_and_the_inviter_removes(
    make_client, session
) -> None:
    maria, anna, account_id = await family(session)
    oleg = await factories.resident(
        session, telegram_id=OTHER, phone="+79990000003", name="Олег Сам"
    )
    await factories.link(session, oleg, await session.get(Account, account_id))
    self_linked = oleg.id
    stranger = await factories.resident(session, telegram_id=5005, phone="+79990000005")
    await factories.link(session, stranger, await factories.account(session, number="80000001"))
    await session.commit()
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    await invitee.send(f"/start {await invite(inviter)}")

    await inviter.send("/profile")
    await inviter.click(t.BTN_HOUSEHOLD)
    shown = last(inviter)
    assert t.MEMBER_YOU in shown and "• Олег Сам" in shown
    assert "• Анна &lt;Иванова&gt; — по вашему приглашению" in shown
    removable = [b for b in screen_buttons(inviter) if b.startswith("✖ Закрыть доступ")]
    assert removable == ["✖ Закрыть доступ: Анна <Иванова>"]  # not Олег: he linked himself

    await invitee.send("/profile")
    await invitee.click(t.BTN_HOUSEHOLD)
    assert "• Мария Иванова" in last(invitee)
    assert not [b for b in screen_buttons(invitee) if b.startswith("✖ Закрыть")]

    outsider = make_client(5005)
    await outsider.send("/profile")
    await outsider.click(t.BTN_HOUSEHOLD)
    assert "Мария" not in last(outsider) and "Анна" not in last(outsider)

    # the invitee cannot remove anyone with a forged button
    session.expire_all()
    [used] = list(await session.scalars(select(HouseholdInvite)))
    await invitee.callback(
        HouseholdAction(action=HouseholdAct.REMOVE, account_id=account_id, invite_id=used.id).pack()
    )
    assert invitee.alerts()[-1] == t.NOT_AVAILABLE
    await outsider.callback(
        HouseholdAction(action=HouseholdAct.REMOVE, account_id=account_id, invite_id=used.id).pack()
    )
    assert anna in await links_of(session, account_id)

    await inviter.click(removable[0])
    assert "Закрыть доступ к л/с № 70000001" in last(inviter)
    await inviter.click(t.BTN_REMOVE_YES)
    assert set(await links_of(session, account_id)) == {maria, self_linked}
    notice = [m.text for m in inviter.session.requests if getattr(m, "chat_id", None) == INVITEE]
    assert any(text and text.startswith("Доступ к л/с № 70000001") for text in notice)
    assert "Анна" not in last(inviter)  # the list without her


async def test_at_most_five_pending_links_per_account(make_client, session) -> None:
    await family(session)
    inviter = make_client(INVITER)
    for _ in range(5):
        await invite(inviter)
    await inviter.click(t.BTN_INVITE.format(number="70000001"))
    assert inviter.alerts()[-1] == t.TOO_MANY.format(links="5 ссылок")
    session.expire_all()
    assert await session.scalar(select(func.count()).select_from(HouseholdInvite)) == 5


async def test_an_invite_for_an_account_not_linked_is_refused(make_client, session) -> None:
    await family(session)
    elsewhere = await factories.account(session, number="90000001")
    await session.commit()
    inviter = make_client(INVITER)
    await inviter.callback(
        HouseholdAction(action=HouseholdAct.INVITE, account_id=elsewhere.id).pack()
    )
    assert inviter.alerts() == ["Этот лицевой счёт не привязан к вашему профилю."]
    session.expire_all()
    assert await session.scalar(select(func.count()).select_from(HouseholdInvite)) == 0


async def test_an_erased_inviter_leaves_no_invites_behind(make_client, session) -> None:
    _maria, _anna, account_id = await family(session)
    inviter, invitee = make_client(INVITER), make_client(INVITEE)
    token = await invite(inviter)
    await inviter.send("/profile")
    await inviter.click(tp.BTN_DELETE)
    await inviter.click(tp.BTN_DELETE_YES)
    session.expire_all()
    assert await session.scalar(select(func.count()).select_from(HouseholdInvite)) == 0
    await invitee.send(f"/start {token}")
    assert last(invitee) == t.UNKNOWN
    assert await links_of(session, account_id) == {}


async def test_a_newcomer_with_an_e_mail_gets_the_link_applied_after_the_code(
    make_client, session, mailbox
) -> None:
    _maria, _anna, account_id = await family(session)
    token = await invite(make_client(INVITER))
    newcomer = make_client(4004, "Коля")
    await newcomer.send(f"/start {token}")
    await newcomer.click(tr.BTN_ACCEPT)
    await newcomer.click(tr.BTN_CONSENT)
    await newcomer.share_contact("79994004004")
    await newcomer.send("kolya@example.ru")
    await newcomer.send(mailbox.last_code("kolya@example.ru"))
    assert last(newcomer).startswith("✅ Вам открыт доступ к <b>л/с № 70000001")
    assert sorted((await links_of(session, account_id)).values()) == ["invite", "phone"]
