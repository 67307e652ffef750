"""The domain of DESIGN.md as SQLAlchemy 2 models. Portable: no dialect-specific SQL here.

Money is `Money` (integer kopecks), quantities `Quantity` (integer 1e-4), periods `Period`
(integer YYYYMM): exact and identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import Money, Period, Quantity

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- billing data (belongs to the organization; imported, never computed here) -----------------


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # id in the billing system
    name: Mapped[str] = mapped_column(String(300))
    inn: Mapped[str] = mapped_column(String(12), default="")
    kpp: Mapped[str] = mapped_column(String(9), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    branch: Mapped[str] = mapped_column(String(300), default="")  # отделение/филиал
    bank_name: Mapped[str] = mapped_column(String(300), default="")
    bic: Mapped[str] = mapped_column(String(9), default="")
    corr_account: Mapped[str] = mapped_column(String(20), default="")
    settlement_account: Mapped[str] = mapped_column(String(20), default="")  # PersonalAcc
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    readings_day_from: Mapped[int] = mapped_column(Integer, default=20)
    readings_day_to: Mapped[int] = mapped_column(Integer, default=25)
    # the day of the next month a period's bill is due (ПП № 354: the 10th unless the contract
    # says otherwise)
    due_day: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # contacts residents see (/help, «📞 Контакты»); the phone and address above are the office's
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    office_hours: Mapped[str] = mapped_column(String(300), default="", server_default="")
    emergency_phone: Mapped[str] = mapped_column(String(64), default="", server_default="")  # АДС
    # working days within which an appeal is answered (weekends skipped)
    answer_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")

    houses: Mapped[list[House]] = relationship(back_populates="organization")


class House(Base):
    __tablename__ = "houses"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500))  # full address, as printed
    street: Mapped[str] = mapped_column(String(300), default="")  # for search by street
    # lower-cased street + address for case-insensitive search that works the same everywhere
    search_text: Mapped[str] = mapped_column(String(800), default="", index=True)
    # the import that created the row (None: created otherwise): removed with that import's
    # version when it never got published or was undone (`storage.importer.versions.clean`)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    organization: Mapped[Organization] = relationship(back_populates="houses")
    apartments: Mapped[list[Apartment]] = relationship(back_populates="house")


class Apartment(Base):
    __tablename__ = "apartments"
    __table_args__ = (UniqueConstraint("house_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("houses.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    sort_key: Mapped[int] = mapped_column(Integer, default=0)  # numeric part, for natural order
    area: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)  # m², two decimals
    ownership_type: Mapped[str] = mapped_column(String(64), default="")  # "Частная", ...
    # the import that created the row (None: created otherwise): removed with that import's
    # version when it never got published or was undone (`storage.importer.versions.clean`)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    house: Mapped[House] = relationship(back_populates="apartments")
    accounts: Mapped[list[Account]] = relationship(back_populates="apartment")


class Account(Base):
    """Лицевой счёт: the unit residents link and pay for."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("organization_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    apartment_id: Mapped[int] = mapped_column(ForeignKey("apartments.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    holder_name: Mapped[str] = mapped_column(String(300), default="")  # ФИО
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164, on record
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # the import that created the row (None: created otherwise): removed with that import's
    # version when it never got published or was undone (`storage.importer.versions.clean`)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    organization: Mapped[Organization] = relationship()
    apartment: Mapped[Apartment] = relationship(back_populates="accounts")


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))  # "ГВС (т/н)"
    unit: Mapped[str] = mapped_column(String(32), default="")  # "куб.м"
    group_name: Mapped[str] = mapped_column(String(200), default="")  # "Теплоснабжение"
    # cold_water, hot_water, heat, electricity, gas, sewage or "" for services without meters
    resource: Mapped[str] = mapped_column(String(32), default="")
    is_common: Mapped[bool] = mapped_column(Boolean, default=False)  # ОДН line
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # the import that created the row (None: created otherwise): removed with that import's
    # version when it never got published or was undone (`storage.importer.versions.clean`)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # "" an ordinary service; a line of its own that is no service: "penalty" (пени), "benefit"
    # (льгота) or "subsidy" (субсидия), the last two negative (storage.kinds)
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")


class Charge(Base):
    """One service's line of one account's month: `closing = opening + charged + recalc − paid`.

    `import_id` is the version (the import that loaded it; 0: before versions): readers see only
    the version `published_periods` names for the period (`storage.repo.versions.visible`)."""

    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("account_id", "period", "service_id", "import_id"),
        Index("ix_charges_version", "import_id", "period", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[dt.date] = mapped_column(Period())
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    tariff: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    volume: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    opening: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    charged: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    recalculation: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    closing: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    import_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # why the recalculation was made and the months it corrects (from..to, the same for one)
    recalc_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    recalc_from: Mapped[dt.date | None] = mapped_column(Period(), nullable=True)
    recalc_to: Mapped[dt.date | None] = mapped_column(Period(), nullable=True)

    service: Mapped[Service] = relationship()


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[dt.date] = mapped_column(Period())  # the month it was booked in
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    source: Mapped[str] = mapped_column(String(100), default="")  # "Сбербанк", "касса", ...
    import_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # version
    # Telegram's charge id when the billing booked a payment made through the bot and its
    # payments file carries it: matches the bot's own record exactly
    charge_id: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        Index("ix_payments_account_period", "account_id", "period"),
        Index("ix_payments_version", "import_id", "period", "account_id"),
    )


class BotPayment(Base):
    """A payment made through the bot (Telegram Payments), as Telegram confirmed it.

    Not billing data: the billing books the money later (an imported `Payment`); until then the
    resident sees it as "in processing". Recorded once per Telegram charge id."""

    __tablename__ = "bot_payments"
    __table_args__ = (Index("ix_bot_payments_account_paid", "account_id", "paid_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # NULL once the payer erased the registration: the payment itself stays (it is money)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), nullable=True
    )
    period: Mapped[dt.date] = mapped_column(Period())  # the period the invoice named
    amount: Mapped[Decimal] = mapped_column(Money())
    telegram_charge_id: Mapped[str] = mapped_column(String(200), unique=True)
    provider_charge_id: Mapped[str] = mapped_column(String(200), default="")
    paid_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Meter(Base):
    """Прибор учёта."""

    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("account_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # id in the billing system
    resource: Mapped[str] = mapped_column(String(32))  # cold_water, hot_water, electricity, ...
    serial: Mapped[str] = mapped_column(String(64), default="")
    zone: Mapped[str] = mapped_column(String(16), default="")  # "", "day", "night", "peak"
    digits: Mapped[int] = mapped_column(Integer, default=5)  # integer digits on the dial
    decimals: Mapped[int] = mapped_column(Integer, default=3)
    verification_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # поверка
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # the import that created the row (None: created otherwise): removed with that import's
    # version when it never got published or was undone (`storage.importer.versions.clean`)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class Reading(Base):
    """Every version of a meter's reading for a period is kept; the highest version is current."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "period", "version"),
        Index("ix_readings_meter_period", "meter_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    period: Mapped[dt.date] = mapped_column(Period())
    value: Mapped[Decimal] = mapped_column(Quantity())
    taken_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="billing")  # resident/billing/estimate
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), nullable=True
    )
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)  # spike, rollover
    review_reason: Mapped[str] = mapped_column(String(32), default="")
    # Telegram's update id: a redelivered update must not save a second version
    update_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    # the import that loaded this version (undo deletes it); NULL: sent by a resident
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # Telegram's file_id of the photo the resident sent with the reading (evidence for operators)
    photo_file_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


# --- residents (personal data: erased at once when a registration is deleted) -----------------


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    agreed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164, verified
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, unique=True)  # confirmed
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    push_telegram: Mapped[bool] = mapped_column(Boolean, default=True)
    push_email: Mapped[bool] = mapped_column(Boolean, default=False)
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    # notifications (bot.notifications), each switchable in the profile
    notify_payments: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_pay_by: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_verification: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # the name the resident registered under (their Telegram name then): shown only to residents
    # linked to the same account (the household list)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    unreachable_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # 403
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    links: Mapped[list[AccountLink]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None


class EmailConfirmation(Base):
    """A pending e-mail with its code (hashed); the address moves to `Resident.email` when confirmed."""

    __tablename__ = "email_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AccountLink(Base):
    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("resident_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # phone / receipt_total
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    resident: Mapped[Resident] = relationship(back_populates="links")
    account: Mapped[Account] = relationship()


class HouseholdInvite(Base):
    """A one-time link a linked resident gives family: whoever opens it (registered) is linked to
    the account without a proof. Only the token's SHA-256 is stored; single use, 7 days,
    revocable (`revoked_at` also marks an invitee's access taken back)."""

    __tablename__ = "household_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    inviter_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    invitee_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class LinkAttempt(Base):
    """Every proof-of-ownership attempt, for limits and audit."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index("ix_link_attempts_resident_at", "resident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    method: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- correspondence -----------------------------------------------------------------------------


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL for an appeal from a resident who could not find their account («Не нашли свой
    # счёт?»): then `organization_id` says whom it is for and `address` what they described
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), nullable=True, index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), nullable=True, index=True
    )
    address: Mapped[str] = mapped_column(String(500), default="")
    # NULL once the resident deleted the registration (the appeal is anonymized, not lost)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    topic: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="new")  # new/in_work/answered/closed
    operators_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    posted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    post_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # the day the resident was told to expect an answer by (the organization's working days)
    answer_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # an emergency's post is pinned in the operators' chat until an operator takes it
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    messages: Mapped[list[AppealMessage]] = relationship(
        back_populates="appeal", order_by="AppealMessage.id", cascade="all, delete-orphan"
    )
    account: Mapped[Account | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    resident: Mapped[Resident | None] = relationship(passive_deletes=True)


class AppealMessage(Base):
    __tablename__ = "appeal_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # resident / operator
    operator_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the copy of this message in the operators' chat, so that a reply to it finds the appeal
    operators_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    delivered: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    appeal: Mapped[Appeal] = relationship(back_populates="messages")


# --- bulk sends: receipt push, announcements, reminders ------------------------------------------


class Push(Base):
    """One monthly receipt push run (or resumed run) for a period."""

    __tablename__ = "pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[dt.date] = mapped_column(Period(), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running/done/failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    owner: Mapped[str] = mapped_column(String(100), default="")  # process holding the lease


class ReceiptDelivery(Base):
    """One row per (account, period, resident, channel): the push's memory across restarts."""

    __tablename__ = "receipt_deliveries"
    __table_args__ = (UniqueConstraint("account_id", "period", "resident_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    period: Mapped[dt.date] = mapped_column(Period(), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram / email
    status: Mapped[str] = mapped_column(String(16))  # sent / failed / blocked
    error: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    house_id: Mapped[int | None] = mapped_column(ForeignKey("houses.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AnnouncementDelivery(Base):
    __tablename__ = "announcement_deliveries"
    __table_args__ = (UniqueConstraint("announcement_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReminderDelivery(Base):
    """A reminder or notification sent (`bot.delivery`): once per resident, period, kind and
    subject. Readings reminders (window opens / closes) have no subject; a notification names
    what it is about (a payment, an account's bill, a meter's verification date)."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("resident_id", "period", "kind", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    period: Mapped[dt.date] = mapped_column(Period())
    kind: Mapped[str] = mapped_column(String(16))  # open / close / payment / pay_by / verify_*
    subject: Mapped[str] = mapped_column(String(64), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReminderRequest(Base):
    """A resident asked («Напомнить, когда откроется») to be reminded when the readings window of
    `period` opens: the window-opening reminder (bot/reminders.py) then reaches them even with
    reminders switched off, once, like everyone else's."""

    __tablename__ = "reminder_requests"
    __table_args__ = (UniqueConstraint("resident_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    period: Mapped[dt.date] = mapped_column(Period())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- runtime state --------------------------------------------------------------------------------


class FsmRecord(Base):
    """Dialogue state of one chat/user, so that a restart does not lose a resident's place."""

    __tablename__ = "fsm_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Lease(Base):
    """A named lease in the database: scheduled jobs and pushes run in one process at a time."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Generation(Base):
    """A named counter of changes. "people": bumped (by SQLite triggers, see migration 0007) by
    every change of residents, account links and bot payments, whichever process makes it."""

    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ImportRun(Base):
    """Each billing import: what was loaded, by whom, and the state of its version.

    `loading` (rows being written, invisible) → `published` (readers see it) → `undone`; a load
    that died is `failed` once cleaned up."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    files: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    periods: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    operator_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # Telegram id
    status: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    owner: Mapped[str] = mapped_column(String(100), default="", server_default="")  # host:pid
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PublishedPeriod(Base):
    """Which version of a period's charges (`kind` "charges") or payments ("payments") readers
    see: the import that published it. No row: the rows of version 0 (loaded before versions)."""

    __tablename__ = "published_periods"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[dt.date] = mapped_column(Period(), primary_key=True)
    import_id: Mapped[int] = mapped_column(Integer)


class ImportVersion(Base):
    """A period an import published, with the version it replaced (what undo restores; kept
    until the undo window passes, then `purged`)."""

    __tablename__ = "import_versions"

    import_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[dt.date] = mapped_column(Period(), primary_key=True)
    previous_import_id: Mapped[int] = mapped_column(Integer, default=0)
    purged: Mapped[bool] = mapped_column(Boolean, default=False)


# The unique (account_id, period, service_id) of charges already serves the card's look-ups.
Index("ix_receipt_deliveries_resident", ReceiptDelivery.resident_id)
