"""The Mini App's API, through its real aiohttp application and database: the golden account's
figures to the kopeck, and each refusal with its documented status and nothing else."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

import pytest
import time_machine

from receipts.data import load_receipt
from receipts.pdf import render_receipt
from services import statements
from storage.demo import GOLDEN_LINES, GOLDEN_NUMBER, GOLDEN_PAYMENT, GOLDEN_TOTALS
from tests import factories
from tests.webapp.initdata import fields_for, header, init_data, sign, signature
from texts import fmt

NB = "\u00a0"
UNAUTHORIZED = {"error": "unauthorized"}


async def get(api, path: str, data: str | None = None, **params: str):
    headers = header(init_data() if data is None else data)
    return await api.get(f"/app/api{path}", params=params, headers=headers)


async def test_accounts_lists_the_linked_account_with_its_balance(api, golden_resident) -> None:
    _, account = golden_resident
    response = await get(api, "/accounts")
    assert response.status == 200
    body = await response.json()
    assert [a["id"] for a in body["accounts"]] == [account.id]
    item = body["accounts"][0]
    assert item["number"] == GOLDEN_NUMBER
    assert item["address"] == "г. Хабаровск, ул. Ленина, д. 1, кв. 1"
    assert item["balance"] == {
        "period": {"value": "2020-03", "text": "март 2020"},
        "closing": {"value": "2383.29", "text": f"2{NB}383,29"},
    }


async def test_month_shows_figure_5_to_the_kopeck(api, golden_resident) -> None:
    _, account = golden_resident
    response = await get(api, f"/accounts/{account.id}/month", period="2020-03")
    assert response.status == 200
    body = await response.json()
    assert body["period"] == {"value": "2020-03", "text": "март 2020"}
    assert body["previous"]["value"] == "2020-02" and body["next"] is None
    [group] = body["groups"]
    assert group["name"] == "Теплоснабжение"
    assert [line["service"] for line in group["lines"]] == [g.name for g in GOLDEN_LINES]
    for line, golden in zip(group["lines"], GOLDEN_LINES, strict=True):
        assert (
            line["unit"]
            == fmt.unit(golden.unit)
            == ("м³" if golden.unit == "куб.м" else golden.unit)
        )
        assert Decimal(line["tariff"]["value"]) == golden.tariff
        assert Decimal(line["volume"]["value"]) == golden.volume
        for field, value in (
            ("opening", golden.opening),
            ("charged", golden.charged),
            ("recalculation", golden.recalculation),
            ("paid", golden.paid),
            ("closing", golden.total),
        ):
            assert line[field]["value"] == str(value.quantize(Decimal("0.01"))), field
        assert line["recalculated"] == bool(golden.recalculation)
        assert line["common"] is False
    shown = [group["lines"][0]["tariff"]["text"], group["lines"][1]["volume"]["text"]]
    assert shown == ["18,83", "0,0992"]
    assert group["lines"][1]["tariff"]["text"] == f"1{NB}775,84"
    totals = {k: v["value"] for k, v in body["totals"].items()}
    assert totals == {
        "opening": str(GOLDEN_TOTALS["opening"]),
        "charged": str(GOLDEN_TOTALS["charged"]),
        "recalculation": str(GOLDEN_TOTALS["recalculation"]),
        "paid": str(GOLDEN_PAYMENT),
        "closing": "2383.29",
        "penalties": "0.00",  # the golden account has no пени, льготы or субсидии
        "benefits": "0.00",
        "subsidies": "0.00",
    }
    assert body["extras"] == []
    assert group["totals"]["closing"] == {"value": "2383.29", "text": f"2{NB}383,29"}
    assert body["to_pay"] == {"value": "2383.29", "text": f"2{NB}383,29"}


async def test_month_without_a_period_is_the_latest(api, golden_resident) -> None:
    _, account = golden_resident
    body = await (await get(api, f"/accounts/{account.id}/month")).json()
    assert body["period"]["value"] == "2020-03"


async def test_statement_for_a_range_matches_the_chats(api, golden_resident, session) -> None:
    _, account = golden_resident
    response = await get(
        api, f"/accounts/{account.id}/statement", **{"from": "2019-04", "to": "2020-03"}
    )
    assert response.status == 200
    body = await response.json()
    chat = await statements.statement_of_last(session, account.id, 12)  # the chat's «12 месяцев»
    assert chat is not None
    assert body["first"]["value"] == "2019-04" and body["last"]["value"] == "2020-03"
    for field in ("start", "charged", "recalculation", "paid", "adjustment", "end"):
        assert Decimal(body[field]["value"]) == getattr(chat, field), field
    assert body["end"]["value"] == "2383.29"
    assert len(body["payments"]) == len(chat.payments)
    start, charged, recalc, paid, adjustment, end = (
        Decimal(body[f]["value"])
        for f in ("start", "charged", "recalculation", "paid", "adjustment", "end")
    )
    assert start + charged + recalc - paid + adjustment == end


@time_machine.travel("2026-03-05 10:00:00+00:00", tick=False)
async def test_receipt_is_the_chats_pdf(api, golden_resident, session) -> None:
    _, account = golden_resident
    response = await get(api, f"/accounts/{account.id}/receipt", data=init_data(), period="2020-03")
    assert response.status == 200
    assert response.content_type == "application/pdf"
    data = await load_receipt(session, account.id, dt.date(2020, 3, 1))
    assert data is not None
    assert await response.read() == render_receipt(data)


async def test_receipts_and_charts(api, golden_resident) -> None:
    _, account = golden_resident
    body = await (await get(api, f"/accounts/{account.id}/receipts")).json()
    assert body["periods"][0] == {"value": "2020-03", "text": "март 2020"}
    chart = await (await get(api, f"/accounts/{account.id}/charts/charges", months="24")).json()
    assert len(chart["periods"]) == 24 and chart["periods"][-1]["value"] == "2020-03"
    [series] = chart["series"]
    assert series["name"] == "Теплоснабжение"
    assert series["values"][-1]["value"] == str(GOLDEN_TOTALS["charged"])
    response = await get(api, f"/accounts/{account.id}/charts/consumption")
    assert response.status == 200


# --- refusals ---------------------------------------------------------------------------------


async def assert_unauthorized(response) -> None:
    assert response.status == 401
    assert await response.json() == UNAUTHORIZED


@pytest.mark.parametrize("path", ["/accounts", "/accounts/1/month", "/accounts/1/receipt"])
async def test_no_header_or_another_scheme_is_401(api, golden_resident, path) -> None:
    await assert_unauthorized(await api.get(f"/app/api{path}"))
    bearer = {"Authorization": f"Bearer {init_data()}"}
    await assert_unauthorized(await api.get(f"/app/api{path}", headers=bearer))
    await assert_unauthorized(await api.get(f"/app/api{path}", headers={"Authorization": "tma "}))


async def test_tampered_field_is_401(api, golden_resident) -> None:
    fields = fields_for()
    good = signature(fields)
    fields["auth_date"] = str(int(fields["auth_date"]) + 1)
    tampered = urlencode({**fields, "hash": good})
    await assert_unauthorized(await get(api, "/accounts", data=tampered))


async def test_another_users_id_under_a_valid_hash_is_401(api, golden_resident) -> None:
    """Someone signed in as 1002 rewrites the user to 1001 (the golden account's resident)."""
    fields = fields_for(user_id=1002)
    good = signature(fields)
    fields["user"] = fields["user"].replace('"id":1002', '"id":1001')
    await assert_unauthorized(await get(api, "/accounts", data=urlencode({**fields, "hash": good})))


async def test_wrong_hash_and_wrong_token_are_401(api, golden_resident) -> None:
    data = dict(parse_qsl(init_data()))
    data["hash"] = "0" * 64
    await assert_unauthorized(await get(api, "/accounts", data=urlencode(data)))
    await assert_unauthorized(await get(api, "/accounts", data=init_data(token="42:another-bot")))
    await assert_unauthorized(await get(api, "/accounts", data="garbage=%%%"))


async def test_expired_launch_data_is_401(api, golden_resident, settings) -> None:
    old = init_data(age=settings.webapp_max_age + 5)
    await assert_unauthorized(await get(api, "/accounts", data=old))
    future = sign({**fields_for(), "auth_date": str(int(fields_for()["auth_date"]) + 3600)})
    await assert_unauthorized(await get(api, "/accounts", data=future))
    fresh = init_data(age=settings.webapp_max_age - 60)
    assert (await get(api, "/accounts", data=fresh)).status == 200


async def test_unregistered_user_gets_403_and_no_data(api, golden_resident, session) -> None:
    await factories.resident(session, telegram_id=1003, phone=None, registered=False)
    await session.commit()
    for user_id in (1003, 1004):  # half-way through registration; never seen
        response = await get(api, "/accounts", data=init_data(user_id=user_id))
        assert response.status == 403
        assert await response.json() == {"error": "not_registered"}


async def test_someone_elses_account_is_404_like_no_account(api, golden_resident, session) -> None:
    _, golden = golden_resident
    other = await factories.resident(session, telegram_id=1002, phone="+79990000002")
    own = await factories.account(session)
    await factories.link(session, other, own)
    await session.commit()
    stranger = init_data(user_id=1002)
    answers = []
    for account_id in (golden.id, 999_999, 2**62, 2**63 - 1):
        for path in ("month", "receipt", "receipts", "charts/charges"):
            response = await get(
                api, f"/accounts/{account_id}/{path}", data=stranger, period="2020-03"
            )
            answers.append((response.status, await response.json()))
    assert set(map(repr, answers)) == {repr((404, {"error": "not_found"}))}
    body = await (await get(api, "/accounts", data=stranger)).json()
    assert [a["id"] for a in body["accounts"]] == [own.id]


@pytest.mark.parametrize(
    "account_id", ["abc", "0", "-1", "1.5", "01", "9223372036854775808", "1" * 30, "%20"]
)
async def test_malformed_account_id_is_400(api, golden_resident, account_id) -> None:
    response = await get(api, f"/accounts/{account_id}/month")
    assert response.status == 400
    assert await response.json() == {"error": "bad_account_id"}


@pytest.mark.parametrize(
    "period",
    ["2020-13", "2020-00", "2020-3", "202003", "03.2020", "1900-01", "2020-03-01", "", "x"],
)
async def test_malformed_period_is_400(api, golden_resident, period) -> None:
    _, account = golden_resident
    for path, params in (
        ("month", {"period": period}),
        ("receipt", {"period": period}),
        ("statement", {"from": period, "to": "2020-03"}),
        ("statement", {"from": "2019-04", "to": period}),
    ):
        response = await get(api, f"/accounts/{account.id}/{path}", **params)
        assert response.status == 400, (path, params)
        assert await response.json() == {"error": "bad_period"}


async def test_bad_ranges_are_400(api, golden_resident) -> None:
    _, account = golden_resident
    for params, code in (
        ({"from": "2020-03", "to": "2019-04"}, "bad_range"),
        ({"from": "2000-01", "to": "2020-03"}, "bad_range"),  # beyond 120 months
        ({"to": "2020-03"}, "bad_period"),
    ):
        response = await get(api, f"/accounts/{account.id}/statement", **params)
        assert (response.status, await response.json()) == (400, {"error": code})
    response = await get(api, f"/accounts/{account.id}/charts/charges", months="13")
    assert (response.status, await response.json()) == (400, {"error": "bad_months"})


async def test_a_month_without_charges_is_404(api, golden_resident) -> None:
    _, account = golden_resident
    response = await get(api, f"/accounts/{account.id}/month", period="2030-01")
    assert (response.status, await response.json()) == (404, {"error": "no_charges"})


async def test_requests_over_the_rate_get_429(settings, session_factory, golden_resident) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot import webapp

    slow = settings.model_copy(update={"webapp_rate": 0.001, "webapp_burst": 3})
    async with TestClient(TestServer(webapp.create_app(slow, session_factory))) as api:
        statuses = [(await get(api, "/accounts")).status for _ in range(4)]
        other = await get(api, "/accounts", data=init_data(user_id=1002))
    assert statuses == [200, 200, 200, 429]
    assert other.status == 403  # another user has a bucket of their own


async def test_logs_hold_no_launch_data_nor_ids(api, golden_resident, caplog) -> None:
    caplog.set_level(logging.INFO)  # what a deployment logs (libraries' DEBUG shows SQL parameters)
    data = init_data()
    await get(api, "/accounts", data=data)
    await get(api, "/accounts/1/month", data=data + "x")
    text = caplog.text
    assert "1001" not in text and "query_id" not in text and "AAHdF6IQ" not in text
    assert GOLDEN_NUMBER not in text


async def test_the_page_and_its_files_are_served(api) -> None:
    page = await api.get("/app/")
    assert page.status == 200
    html = await page.text()
    assert "https://telegram.org/js/telegram-web-app.js" in html
    assert (await api.get("/app/static/app.js")).status == 200
    assert (await api.get("/app/static/app.css")).status == 200
    redirect = await api.get("/app", allow_redirects=False)
    assert redirect.status == 308 and redirect.headers["Location"] == "/app/"


async def test_the_rate_is_one_across_processes_with_redis(
    settings, session_factory, golden_resident, redis_url
) -> None:
    """Two processes behind one proxy (REDIS_URL set) meet one limit per user, not one each."""
    if redis_url is None:
        pytest.skip("TEST_REDIS_URL is not set (.ci/run sets it)")
    from aiohttp.test_utils import TestClient, TestServer
    from redis.asyncio import Redis

    from bot import webapp

    slow = settings.model_copy(update={"webapp_rate": 0.001, "webapp_burst": 3})
    redis = Redis.from_url(redis_url)
    try:
        first = TestClient(TestServer(webapp.create_app(slow, session_factory, redis)))
        second = TestClient(TestServer(webapp.create_app(slow, session_factory, redis)))
        async with first, second:
            statuses = [(await get(api, "/accounts")).status for api in (first, second) * 2]
    finally:
        await redis.aclose()
    assert statuses == [200, 200, 200, 429]
