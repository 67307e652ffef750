"""Update metrics (count by type and outcome, latency, errors), Bot API request outcomes, the
receipt push's progress read from the database, and the /metrics endpoint.

The counters themselves are in the leaf package `metrics`, where handlers and receipts record too.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import metrics
from receipts.push import DeliveryStatus
from storage.models import Push, ReceiptDelivery


class MetricsMiddleware(BaseMiddleware):
    """Outermost update middleware: sees every update, the throttled ones included."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception as error:
            metrics.update(kind, "error")
            metrics.error("update", error)
            raise
        finally:
            metrics.HANDLER_SECONDS.labels(kind).observe(time.perf_counter() - started)
        if data.get("throttled"):
            outcome = "throttled"
        elif result is UNHANDLED:
            outcome = "unhandled"
        else:
            outcome = "handled"
        metrics.update(kind, outcome)
        return result


class TelegramRequestMetrics(BaseRequestMiddleware):
    """Counts every Bot API request by method and outcome: a 403 is a resident who blocked the
    bot, a 429 is Telegram asking to slow down (the push's pacing shows here)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except TelegramForbiddenError:
            metrics.telegram_request(name, "forbidden")
            raise
        except TelegramRetryAfter:
            metrics.telegram_request(name, "retry_after")
            raise
        except TelegramBadRequest:
            metrics.telegram_request(name, "bad_request")
            raise
        except TelegramNetworkError:
            metrics.telegram_request(name, "network")
            raise
        except TelegramServerError:
            metrics.telegram_request(name, "server")
            raise
        except Exception:
            metrics.telegram_request(name, "other")
            raise
        metrics.telegram_request(name, "ok")
        return response


# Pushes of the last few periods are enough for a dashboard; older ones are history.
_RECENT_PUSHES = 3


async def refresh_push_progress(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The receipt push's progress from the database, the truth every process shares: whichever
    process is scraped reports the push run by any of them."""
    async with session_factory() as session:
        pushes = (
            await session.execute(
                select(Push.period, Push.status, Push.total)
                .where(Push.id.in_(select(func.max(Push.id)).group_by(Push.period)))
                .order_by(Push.period.desc())
                .limit(_RECENT_PUSHES)
            )
        ).all()
        if not pushes:
            return
        done = dict(
            (
                await session.execute(
                    select(ReceiptDelivery.period, func.count(ReceiptDelivery.id))
                    .where(ReceiptDelivery.period.in_([row.period for row in pushes]))
                    .where(ReceiptDelivery.status != DeliveryStatus.SENDING)  # in flight: not done
                    .group_by(ReceiptDelivery.period)
                )
            ).all()
        )
    for period, status, total in pushes:
        label = f"{period:%Y-%m}"
        metrics.push_progress(label, done=done.get(period, 0), total=total)
        metrics.PUSH_RUNNING.labels(label).set(1 if status == "running" else 0)


def metrics_view(session_factory: async_sessionmaker[AsyncSession] | None = None):
    async def view(request: web.Request) -> web.Response:
        if session_factory is not None:
            try:
                await refresh_push_progress(session_factory)
            except Exception as error:  # the other metrics matter more than these
                metrics.error("metrics", error)
        exposed = metrics.exposition()
        if exposed is None:  # prometheus-client is not installed (the `metrics` extra)
            raise web.HTTPNotFound(text="metrics are off: pip install '.[metrics]'")
        body, content_type = exposed
        return web.Response(body=body, headers={"Content-Type": content_type})

    return view
