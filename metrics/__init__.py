"""The bot's Prometheus metrics, recorded from anywhere, exposed by `bot.webhook` at /metrics.

A leaf package: it imports nothing of ours, so handlers, receipts, storage and bot may all record
into it without an arrow pointing back (handlers must not import `bot`). Recording works without
any server running; every process keeps its own numbers and Prometheus scrapes each process.

Label values are short fixed codes chosen by the caller ("window", "below_previous", "blocked"),
never user data: a label is a time series, and free text would both leak and explode them.

    import metrics
    metrics.readings(accepted=False, reason="below_previous")
    metrics.delivery("sent")                       # a receipt pushed by Telegram
    metrics.delivery("blocked", kind="announcement")
    metrics.push_progress("2020-03", done=120, total=5000)

prometheus-client is optional (`pip install '.[metrics]'`): without it every metric is a no-op,
`sample()` reads 0 and `exposition()` is None (the webhook's /metrics answers 404).
"""

from __future__ import annotations

from typing import Any

try:
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        Counter,
        Gauge,
        Histogram,
        generate_latest,
    )
except ImportError:  # the embedded default installs only what it uses
    ENABLED = False
else:
    ENABLED = True

if not ENABLED:

    class _NoMetric:
        """Counter, Gauge and Histogram when prometheus-client is not installed."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def labels(self, *values: str) -> _NoMetric:
            return self

        def inc(self, amount: float = 1) -> None:
            pass

        def set(self, value: float) -> None:
            pass

        def observe(self, value: float) -> None:
            pass

    Counter = Gauge = Histogram = _NoMetric  # type: ignore[assignment,misc]
    REGISTRY = None

# The default registry also carries the process and platform collectors (memory, CPU, fds).
registry = REGISTRY

__all__ = [
    "ENABLED",
    "ERRORS",
    "HANDLER_SECONDS",
    "JOBS",
    "PUSH_DELIVERIES",
    "PUSH_DONE",
    "PUSH_RUNNING",
    "PUSH_TOTAL",
    "READINGS",
    "TELEGRAM_REQUESTS",
    "UPDATES",
    "delivery",
    "error",
    "exposition",
    "job",
    "push_progress",
    "readings",
    "registry",
    "sample",
    "telegram_request",
    "update",
]

_LABEL_MAX = 40

UPDATES = Counter(
    "cabinet_updates",
    "Telegram updates by type and outcome (handled, unhandled, error, throttled)",
    ["type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "cabinet_handler_seconds",
    "Time to handle one update (middlewares and handler), by update type",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ERRORS = Counter(
    "cabinet_errors",
    "Exceptions by where they happened (update, job, push...) and exception class",
    ["where", "exception"],
)
READINGS = Counter(
    "cabinet_readings",
    "Meter readings submitted by residents: accepted or refused, with the reason code",
    ["outcome", "reason"],
)
PUSH_DELIVERIES = Counter(
    "cabinet_push_deliveries",
    "Bulk deliveries (receipt push, announcements, reminders) by kind, channel and outcome",
    ["kind", "channel", "outcome"],
)
PUSH_DONE = Gauge(
    "cabinet_push_done", "Deliveries of the receipt push of a period done so far", ["period"]
)
PUSH_TOTAL = Gauge(
    "cabinet_push_total", "Deliveries the receipt push of a period has to make", ["period"]
)
TELEGRAM_REQUESTS = Counter(
    "cabinet_telegram_requests",
    "Bot API requests by method and outcome (ok, forbidden: blocked by the user, retry_after: "
    "429, bad_request, network, server, other)",
    ["method", "outcome"],
)
PUSH_RUNNING = Gauge(
    "cabinet_push_running", "1 while the receipt push of a period is running", ["period"]
)
JOBS = Counter(
    "cabinet_jobs",
    "Scheduled job runs by job and outcome (done, skipped: another process holds the lease, "
    "failed, lost: the lease was lost while running)",
    ["job", "outcome"],
)


def _label(value: object) -> str:
    return str(value)[:_LABEL_MAX] or "-"


def update(update_type: str, outcome: str) -> None:
    UPDATES.labels(_label(update_type), _label(outcome)).inc()


def readings(accepted: bool, reason: str = "ok", count: int = 1) -> None:
    """A resident's reading accepted, or refused for `reason` ("format", "below_previous",
    "too_high", "window", "no_meter"...)."""
    READINGS.labels("accepted" if accepted else "refused", _label(reason)).inc(count)


def delivery(outcome: str, *, kind: str = "receipt", channel: str = "telegram") -> None:
    """One bulk delivery finished: outcome "sent", "blocked" (403), "failed", "retry" (429)..."""
    PUSH_DELIVERIES.labels(_label(kind), _label(channel), _label(outcome)).inc()


def push_progress(period: str, done: int, total: int) -> None:
    """Progress of the receipt push of `period` ("2020-03")."""
    PUSH_DONE.labels(_label(period)).set(done)
    PUSH_TOTAL.labels(_label(period)).set(total)


def error(where: str, exception: BaseException | type[BaseException]) -> None:
    kind = exception if isinstance(exception, type) else type(exception)
    ERRORS.labels(_label(where), _label(kind.__name__)).inc()


def telegram_request(method: str, outcome: str) -> None:
    TELEGRAM_REQUESTS.labels(_label(method), _label(outcome)).inc()


def job(name: str, outcome: str) -> None:
    JOBS.labels(_label(name), _label(outcome)).inc()


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of a sample (0 when never recorded): for tests and the CLI."""
    if registry is None:
        return 0.0
    value = registry.get_sample_value(name, labels or {})
    return value or 0.0


def exposition() -> tuple[bytes, str] | None:
    """Every metric in Prometheus's text format and its content type; None without
    prometheus-client."""
    if registry is None:
        return None
    return generate_latest(registry), CONTENT_TYPE_LATEST
