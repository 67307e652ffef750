"""Settings from the environment and `.env` (every variable is documented in `.env.example`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str | None = None
    redis_url: str | None = None

    operators_chat_id: int | None = None
    admin_ids: list[int] = Field(default_factory=list)
    default_timezone: str = "Europe/Moscow"
    log_level: str = "INFO"
    log_format: str = "text"  # text, or json: one JSON object a line for log collectors

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "cabinet@example.org"
    smtp_starttls: bool = False
    smtp_use_tls: bool = False

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080

    # The Mini App (bot/webapp): its public HTTPS address for the buttons (empty: no button and,
    # in polling mode, no server), where polling mode serves it (webhook mode: the webhook's
    # server), how old its launch data may be, and each resident's request rate.
    webapp_url: str = ""
    webapp_host: str = "127.0.0.1"
    webapp_port: int = 8081
    webapp_max_age: int = Field(default=3600, ge=1)
    webapp_rate: float = Field(default=5.0, gt=0)
    webapp_burst: int = Field(default=40, ge=1)

    # Pacing of bulk sends (receipts push, announcements, reminders): Telegram's documented limits.
    push_rate_per_second: float = 25.0
    push_per_chat_interval: float = 1.0
    # Receipt push: sends in flight at once (an upload takes 150-250 ms; one at a time reaches a
    # fifth of the rate). A kill repeats at most this many receipts (README, the push).
    push_concurrency: int = Field(default=8, ge=1, le=64)
    # Receipt push: how often the scheduler looks for freshly imported periods, and how often a
    # running push logs its progress and renews its lease (seconds).
    push_poll_seconds: int = 60
    push_progress_interval: float = 10.0
    # A push holds a lease for its period; a killed push's lease blocks a restart this long.
    push_lease_seconds: float = 90.0
    # Rendered receipt PDFs of a push in progress (reused after a restart, removed when the push
    # is done). Empty: no spool, every PDF is rendered when it is sent.
    receipt_spool_dir: str = "data/receipts"
    # Throttling of one resident's updates: a flooding chat does not slow the others.
    throttle_rate: float = 3.0
    throttle_burst: int = 10
    # Rendering pool for PDFs and charts: worker processes (0 = threads only).
    render_workers: int = 2
    scheduler_enabled: bool = True
    # Billing files sent to the bot: files of one operator that come within this many seconds of
    # each other form one batch; a checked batch's files are kept this long for «Загрузить».
    import_batch_seconds: float = 3.0
    import_keep_minutes: float = 30.0
    # Billing imports: how long an import can be undone (the data it replaced is kept that long).
    import_undo_days: int = 30

    # Telegram Payments: the provider's token (from @BotFather, Payments) and the server's secret
    # that signs invoice payloads. Both set: «💳 Оплатить» sends invoices; otherwise the QR only.
    payments_provider_token: SecretStr | None = None
    payments_secret: SecretStr | None = None
    # What one payment may be, in rubles: inside Telegram's limits for RUB
    # (https://core.telegram.org/bots/payments/currencies.json).
    payments_min_rub: Decimal = Decimal("100")
    payments_max_rub: Decimal = Decimal("250000")
    # A bot payment matches an imported one of the same account and amount booked this many days
    # after it at most; one the billing has not booked after `payments_unconfirmed_days` is listed
    # for operators.
    payments_match_days: int = 7
    payments_unconfirmed_days: int = 10

    # Notifications (bot.notifications): the pay-by reminder this many days before the due date;
    # an imported payment is announced when it was made at most this many days ago.
    notify_pay_by_days: int = Field(default=3, ge=0, le=28)
    notify_payment_days: int = Field(default=40, ge=1)

    @property
    def payments_enabled(self) -> bool:
        return bool(self.payments_provider_token and self.payments_secret)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
