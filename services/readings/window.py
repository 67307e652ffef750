"""The readings window before anything is asked: is it closed for every meter the resident has,
and «Напомнить, когда откроется» (the window-opening reminder of bot/reminders.py, requested)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.readings import rules
from services.readings.dialogue import ResidentMeters, resident_meters
from storage.repo import readings as repo


def closed_window(meters: ResidentMeters) -> rules.Window | None:
    """The window that opens first, when the windows of all the organizations of the resident's
    active meters are closed today (no value can be taken now); None when one is open."""
    windows = []
    for org in {meters.account_of(m).organization for m in meters.meters.values()}:
        window = rules.reading_window(org.timezone, org.readings_day_from, org.readings_day_to)
        if window.is_open:
            return None
        windows.append(window)
    return min(windows, key=lambda w: w.opens_on, default=None)


async def remind_when_open(session: AsyncSession, resident_id: int) -> rules.Window | None:
    """Ask for the reminder of the window that opens next, and commit; returns that window, or
    None when there is nothing to wait for (a window is open now, or no active meter)."""
    window = closed_window(await resident_meters(session, resident_id))
    if window is None:
        return None
    await repo.request_reminder(session, resident_id, window.opens_on.replace(day=1))
    await session.commit()
    return window
