"""How the readings screens read: words for the services' figures and codes (no I/O here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from aiogram.types import InlineKeyboardMarkup

from keyboards import readings as kb
from services.readings import rules
from services.readings.dialogue import (
    Item,
    Judged,
    Pending,
    Problem,
    Refusal,
    ResidentMeters,
    Saved,
)
from services.readings.meters import History, Overview, Verification
from storage.models import Account, Meter
from texts import fmt
from texts.ru import readings as t

Screen = tuple[str, InlineKeyboardMarkup | None]


def _address(account: Account) -> str:
    return fmt.address(account.apartment.house.address, account.apartment.number)


def meter_label(meters: ResidentMeters, meter: Meter) -> str:
    """A meter by its kind and serial; with the account when the resident has several."""
    name = t.meter_short(meter.resource, meter.zone, meter.serial)
    if len(meters.accounts) > 1:
        return f"{name} · л/с № {meters.account_of(meter).number}"
    return name


# --- the meters list and history ----------------------------------------------------------------


def account_choice(accounts: Sequence[Account]) -> Screen:
    buttons = [
        (a.id, t.ACCOUNT_BUTTON.format(number=a.number, address=_address(a))[:60]) for a in accounts
    ]
    return t.CHOOSE_ACCOUNT, kb.accounts_keyboard(buttons)


def _verification_line(verification: Verification, due: dt.date | None) -> str | None:
    if due is None or verification is Verification.UNKNOWN:
        return None
    template = {
        Verification.EXPIRED: t.METER_VERIFICATION_EXPIRED,
        Verification.SOON: t.METER_VERIFICATION_SOON,
    }.get(verification, t.METER_VERIFICATION)
    return template.format(date=fmt.day(due))


def meters_screen(view: Overview) -> Screen:
    account, window = view.account, view.window
    if not view.meters:
        return t.NO_METERS.format(number=fmt.esc(account.number)), None
    blocks = [t.meters_title(account.number, _address(account))]
    month = fmt.month(window.period)
    for state in view.meters:
        meter = state.meter
        lines = [
            t.METER_LINE.format(
                icon=t.RESOURCE_ICONS.get(meter.resource, "🔢"),
                name=fmt.esc(t.meter_name(meter.resource, meter.zone)),
                serial=fmt.esc(meter.serial or "—"),
            )
        ]
        if state.last is not None:
            taken = state.last.taken_on or state.last.created_at.date()
            value = t.value(state.last.value, meter.resource)
            lines.append(t.METER_LAST.format(value=value, date=fmt.day(taken)))
        else:
            lines.append(t.METER_NO_LAST)
        if state.current is not None:
            value = t.value(state.current.value, meter.resource)
            lines.append(t.METER_THIS_PERIOD.format(month=month, value=value))
        else:
            lines.append(t.METER_THIS_PERIOD_MISSING.format(month=month))
        verification = _verification_line(state.verification, meter.verification_due)
        if verification:
            lines.append(verification)
        blocks.append("\n".join(lines))
    blocks.append(t.window_line(window.day_from, window.day_to, window.is_open, window.opens_on))
    blocks.append(t.HOW_TO_SEND)
    markup = kb.meters_keyboard(
        account.id,
        [
            (s.meter.id, t.meter_short(s.meter.resource, s.meter.zone, s.meter.serial))
            for s in view.meters
        ],
    )
    return "\n\n".join(blocks), markup


def history_meter_choice(account: Account, meters: Sequence[Meter]) -> Screen:
    if not meters:
        return t.NO_METERS.format(number=fmt.esc(account.number)), None
    return (
        t.CHOOSE_HISTORY_METER.format(number=fmt.esc(account.number)),
        kb.history_meters_keyboard(
            account.id, [(m.id, t.meter_short(m.resource, m.zone, m.serial)) for m in meters]
        ),
    )


def history_screen(
    account: Account, history: History, via: int = 0, several: bool = True
) -> Screen:
    meter = history.meter
    lines = [
        t.HISTORY_TITLE.format(
            name=fmt.esc(t.meter_name(meter.resource, meter.zone)),
            serial=fmt.esc(meter.serial or "—"),
            number=fmt.esc(account.number),
        ),
        "",
    ]
    for row in history.rows:
        use = row.consumption
        lines.append(
            t.HISTORY_LINE.format(
                month=fmt.month(row.period),
                value=t.value(row.value, meter.resource),
                use=t.HISTORY_USE.format(use=t.value(use, meter.resource))
                if use is not None
                else "",
                source=t.HISTORY_SOURCE.format(source=t.SOURCE_NAMES.get(row.source, row.source)),
                versions=t.HISTORY_VERSIONS if row.versions > 1 else "",
                review=t.HISTORY_REVIEW if row.needs_review else "",
            )
        )
    if not history.rows:
        lines.append(t.HISTORY_EMPTY)
    markup = kb.history_keyboard(
        account.id, meter.id, history.page, history.has_older, via, several
    )
    return "\n".join(lines), markup


# --- the dialogue --------------------------------------------------------------------------------

_PARSE_PROBLEMS = {
    Problem.NOT_A_NUMBER: t.ERR_NOT_A_NUMBER,
    Problem.NEGATIVE: t.ERR_NEGATIVE,
    Problem.TOO_LONG: t.ERR_TOO_LONG,
    Problem.UNCLEAR: t.ERR_UNCLEAR,
}


def refusal_text(refusal: Refusal, meters: ResidentMeters) -> str:
    problem = refusal.problem
    if problem in _PARSE_PROBLEMS:
        return _PARSE_PROBLEMS[problem].format(typed=fmt.esc(refusal.typed[:60]))
    if problem is Problem.NO_METER:
        hint = refusal.hint
        described = t.hint_text(hint.get("resource"), hint.get("zone"), hint.get("serial_tail"))
        return t.ERR_NO_METER.format(
            typed=fmt.esc(refusal.typed), hint=fmt.esc(described or t.ANY_METER)
        )
    if problem is Problem.METER_GONE:
        return t.ERR_METER_GONE.format(typed=fmt.esc(refusal.typed))
    if problem is Problem.WINDOW_CLOSED:
        window = refusal.window
        return t.ERR_WINDOW_CLOSED.format(
            day_from=window["day_from"],
            day_to=window["day_to"],
            opens=fmt.day_long(dt.date.fromisoformat(window["opens"])),
        )
    meter = meters.meters.get(refusal.meter_id) or meters.archived.get(refusal.meter_id)
    if meter is None:  # the meter left the resident's accounts meanwhile
        return t.ERR_METER_GONE.format(typed=fmt.esc(refusal.typed or refusal.value))
    return _meter_refusal(refusal, meter, fmt.esc(meter_label(meters, meter)))


def _meter_refusal(refusal: Refusal, meter: Meter, name: str) -> str:
    problem = refusal.problem
    shown = t.value(Decimal(refusal.value), meter.resource) if refusal.value else ""
    if problem is Problem.SAME_METER:
        return t.ERR_SAME_METER.format(name=name)
    if problem is Problem.ARCHIVED:
        return t.ERR_ARCHIVED.format(name=name)
    if problem is Problem.TOO_MANY_DECIMALS:
        if meter.decimals == 0:
            return t.ERR_NO_DECIMALS.format(name=name, value=shown)
        return t.ERR_TOO_MANY_DECIMALS.format(
            name=name, value=shown, decimals=meter.decimals, places=t.digits_word(meter.decimals)
        )
    if problem is Problem.TOO_MANY_DIGITS:
        return t.ERR_TOO_MANY_DIGITS.format(
            name=name, value=shown, digits=meter.digits, places=t.digits_word(meter.digits)
        )
    if problem is Problem.BELOW_PREVIOUS:
        previous = t.value(Decimal(refusal.previous or 0), meter.resource)
        return t.ERR_BELOW_PREVIOUS.format(name=name, value=shown, previous=previous)
    due = meter.verification_due
    return t.ERR_VERIFICATION_EXPIRED.format(name=name, date=fmt.day(due) if due else "")


def refusals_block(refusals: Sequence[Refusal], meters: ResidentMeters) -> str:
    if not refusals:
        return ""
    unique = dict.fromkeys(refusal_text(r, meters) for r in refusals)  # a closed window once
    return t.REFUSED_TITLE + "\n" + "\n".join(f"• {line}" for line in unique) + "\n\n"


def window_closed_screen(window: rules.Window) -> Screen:
    """Readings sent outside the window: said before anything is asked."""
    text = t.WINDOW_CLOSED_NOW.format(
        day_from=window.day_from, day_to=window.day_to, opens=fmt.day_long(window.opens_on)
    )
    return text, kb.window_closed_keyboard()


def reminder_requested(window: rules.Window) -> str:
    return t.REMINDER_REQUESTED.format(
        opens=fmt.day_long(window.opens_on), day_from=window.day_from, day_to=window.day_to
    )


def choose_meter_screen(pending: Pending, index: int, item: Item, meters: ResidentMeters) -> Screen:
    choices = [
        (meter_id, meter_label(meters, meters.meters[meter_id]))
        for meter_id in item.candidates
        if meter_id in meters.meters
    ]
    text = refusals_block(pending.refusals, meters) + t.CHOOSE_METER.format(
        value=fmt.esc(item.typed)
    )
    return text, kb.pick_meter_keyboard(pending.nonce, index, choices)


def _judged_lines(judged: Judged, meters: ResidentMeters) -> list[str]:
    meter, verdict = judged.meter, judged.verdict
    lines = [
        t.CONFIRM_LINE.format(
            name=fmt.esc(t.meter_short(meter.resource, meter.zone, meter.serial)),
            account=fmt.esc(meters.account_of(meter).number),
            value=t.value(judged.value, meter.resource),
        )
    ]
    use = t.value(verdict.consumption or Decimal(0), meter.resource)
    if verdict.warning == rules.ROLLOVER:
        previous = t.value(verdict.previous or Decimal(0), meter.resource)
        lines.append(t.WARN_ROLLOVER.format(previous=previous, use=use))
    elif verdict.warning == rules.SPIKE:
        average = (verdict.average or Decimal(0)).quantize(Decimal("0.001"))
        lines.append(t.WARN_SPIKE.format(use=use, average=t.value(average, meter.resource)))
    elif verdict.consumption is not None:
        lines.append(t.CONFIRM_USE.format(use=use))
    if judged.replaces is not None:
        lines.append(t.CONFIRM_REPLACES.format(old=t.value(judged.replaces, meter.resource)))
    return lines


def confirm_screen(pending: Pending, accepted: Sequence[Judged], meters: ResidentMeters) -> Screen:
    refused = refusals_block(pending.refusals, meters)
    if not accepted:
        return refused + t.NOTHING_TO_SAVE, None
    lines = [line for judged in accepted for line in _judged_lines(judged, meters)]
    text = (
        refused
        + t.CONFIRM_TITLE.format(month=fmt.month(accepted[-1].period))
        + "\n"
        + "\n".join(lines)
        + ("\n" + t.SAVED_PHOTO if pending.photo else "")
        + "\n\n"
        + t.CONFIRM_QUESTION
    )
    return text, kb.confirm_keyboard(pending.nonce)


def saved_screen(saved: Saved) -> str:
    meters = saved.meters
    assert meters is not None  # a save always loads the resident's meters
    refused = refusals_block(saved.refusals, meters)
    if not saved.judged or saved.period is None or saved.last_day is None:
        return refused + t.NOTHING_TO_SAVE
    lines = []
    for judged in saved.judged:
        line = t.SAVED_LINE.format(
            name=fmt.esc(meter_label(meters, judged.meter)),
            value=t.value(judged.value, judged.meter.resource),
        )
        if judged.replaces is not None:
            line += t.SAVED_CORRECTION
        if judged.verdict.warning:
            line += t.SAVED_REVIEW
        lines.append(line)
    if saved.photo:
        lines.append(t.SAVED_PHOTO)
    return (
        refused
        + t.SAVED_TITLE.format(month=fmt.month(saved.period))
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + t.SAVED_FOOTER.format(last=fmt.day_long(saved.last_day))
    )
