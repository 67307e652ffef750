"""What the operators read about an import: the preview, the refusal, the summary, the list of
past imports (pure functions of what `services.imports` returns)."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from services.imports import Applied, FileSummary, ImportInfo, PeriodChange, Preview, Problem
from services.operator_files import display_name, display_names
from storage.periods import int_to_period
from texts import fmt
from texts.ru import imports as t

SHOWN_PROBLEMS = 10
MONEY_KINDS = ("charges", "registry")
MESSAGE_LIMIT = 3500  # of Telegram's 4096, room for the tail


def rub(kopecks: int) -> str:
    return fmt.rub(Decimal(kopecks).scaleb(-2))


def month(period: int) -> str:
    return fmt.month(int_to_period(period))


def short_period(period: int) -> str:
    return f"{period % 100:02d}.{period // 100}"


def problem_line(problem: Problem) -> str:
    name = display_name(problem.file)
    return (
        f"{name}:{problem.line}: {problem.reason}" if problem.line else f"{name}: {problem.reason}"
    )


def _file_lines(info: FileSummary) -> list[str]:
    lines = [
        t.PREVIEW_FILE.format(
            name=fmt.esc(display_name(info.name)),
            kind=info.title,
            rows=t.rows(info.rows),
            description=fmt.esc(info.description),
        )
    ]
    if info.periods:
        periods = ", ".join(short_period(p) for p in info.periods)
        lines.append(t.PREVIEW_PERIODS.format(periods=periods))
    if info.accounts:
        known = info.accounts - info.new_accounts
        lines.append(
            t.PREVIEW_ACCOUNTS.format(total=info.accounts, new=info.new_accounts, known=known)
        )
    if info.kind in MONEY_KINDS:
        lines.append(
            t.PREVIEW_MONEY.format(
                charged=rub(info.charged),
                recalculated=rub(info.recalculated),
                paid=rub(info.paid),
            )
        )
    elif info.kind == "payments":
        lines.append(t.PREVIEW_PAYMENTS.format(paid=rub(info.paid)))
    if info.skipped:
        lines.append(t.PREVIEW_SKIPPED.format(n=info.skipped))
    if info.ignored:
        lines.append(t.PREVIEW_IGNORED.format(columns=fmt.esc(", ".join(info.ignored))))
    return lines


def _change_line(change: PeriodChange) -> str:
    if change.accounts_before == 0:
        return t.PREVIEW_CHANGE_NEW.format(
            month=month(change.period),
            accounts=t.accounts(change.accounts_after),
            after=rub(change.charged_after),
        )
    return t.PREVIEW_CHANGE.format(
        month=month(change.period),
        before=change.accounts_before,
        after=change.accounts_after,
        added=change.accounts_added,
        removed=change.accounts_removed,
        charged_before=rub(change.charged_before),
        charged_after=rub(change.charged_after),
    )


def _cut(lines: list[str], tail: str) -> tuple[str, str | None]:
    """The message, and the whole text as a report when the message had to be cut."""
    whole = "\n".join(lines)
    if len(whole) + len(tail) <= MESSAGE_LIMIT:
        return whole + tail, None
    shown: list[str] = []
    for line in lines:
        if len("\n".join([*shown, line])) > MESSAGE_LIMIT - len(tail) - len(t.PREVIEW_CUT):
            break
        shown.append(line)
    return "\n".join(shown) + t.PREVIEW_CUT + tail, fmt_plain(whole)


def fmt_plain(html_text: str) -> str:
    """A report file is plain text: no tags, entities back to characters."""
    return html.unescape(re.sub(r"</?(b|i|code)>", "", html_text))


def preview(result: Preview) -> tuple[str, str | None]:
    lines = [t.PREVIEW_TITLE.format(rows=t.rows(result.rows), files=t.rows_in(len(result.files)))]
    for info in result.files:
        lines.extend(_file_lines(info))
    if result.changes:
        lines.append(t.PREVIEW_CHANGE_TITLE)
        lines.extend(_change_line(change) for change in result.changes)
    return _cut(lines, t.PREVIEW_ASK)


def refused(problems: list[Problem], count: int, files: int) -> tuple[str, str | None]:
    """The refusal with the first bad rows; all of them as a report when there are more."""
    lines = [t.REFUSED_TITLE.format(errors=t.errors(count), files=t.files_in(max(files, 1)))]
    lines.extend(fmt.esc(problem_line(p)) for p in problems[:SHOWN_PROBLEMS])
    report = None
    if count > SHOWN_PROBLEMS:
        lines.append(t.REFUSED_MORE.format(n=count - SHOWN_PROBLEMS))
        report = "\n".join(problem_line(p) for p in problems)
        if count > len(problems):
            report += "\n" + t.REFUSED_MORE.format(n=count - len(problems))
    text, whole = _cut(lines, "")
    return text, report or whole


def applied(result: Applied) -> str:
    lines = [t.LOADED.format(id=result.import_id, rows=t.rows(result.rows))]
    if result.periods:
        lines.append(t.LOADED_PERIODS.format(periods=periods_label(result.periods)))
    lines.extend(t.LOADED_NEW_PERIOD.format(month=month(p)) for p in result.published_periods)
    return "\n".join(lines)


def periods_label(periods: list[str]) -> str:
    shown = []
    for value in periods:
        year, _, number = str(value).partition("-")
        shown.append(f"{number}.{year}" if number else str(value))
    return ", ".join(shown) or t.NO_PERIODS


def import_item(item: ImportInfo, timezone: str) -> str:
    who = t.IMPORTS_BY.format(id=item.operator_id) if item.operator_id else t.IMPORTS_BY_UNKNOWN
    return t.IMPORTS_ITEM.format(
        id=item.id,
        when=fmt.local_time(item.created_at, timezone),
        who=who,
        files=fmt.esc(display_names(item.files)),
        periods=periods_label(item.periods),
        rows=t.rows(item.rows),
    )


def imports_list(items: list[ImportInfo], timezone: str) -> str:
    if not items:
        return t.IMPORTS_EMPTY
    lines = [t.IMPORTS_TITLE, *(import_item(item, timezone) for item in items), t.IMPORTS_HINT]
    return "\n".join(lines)


def eta(remaining: int, rate: float) -> str:
    if rate <= 0 or remaining <= 0:
        return ""
    return t.PUSH_ETA.format(minutes=max(1, round(remaining / rate / 60)))


def rate(value: float) -> str:
    return fmt.decimal_ru(Decimal(f"{value:.1f}"), 1)
