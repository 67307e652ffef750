"""Tell in-memory caches at once when a commit of this process changed people: residents,
their account links or bot payments.

SQLAlchemy's public session events mark a session whose flush wrote such objects, or that ran an
INSERT/UPDATE/DELETE on such a table (`session.execute(delete(Resident)...)`); when it commits,
every subscriber's `people_changed()` runs before the commit returns to its caller. (A mark
outlives a rollback: the next commit of that session then drops the caches once too many, which
costs a reload and is never stale.) Changes made
by other processes (the CLI) or outside the ORM reach the caches through the `generations` row
that SQLite triggers bump (migration 0007) instead.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

PEOPLE_TABLES = frozenset({"residents", "account_links", "bot_payments"})
_CHANGED = "people_changed"


class Subscriber(Protocol):
    def people_changed(self) -> None: ...


_subscribers: weakref.WeakSet[Any] = weakref.WeakSet()


def subscribe(subscriber: Subscriber) -> None:
    """Call `subscriber.people_changed()` after each commit that changed people (kept weakly)."""
    _subscribers.add(subscriber)


def _table_of(instance: object) -> str | None:
    return getattr(type(instance), "__tablename__", None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # the collections still hold what this flush wrote
    for instance in (*session.new, *session.dirty, *session.deleted):
        if _table_of(instance) in PEOPLE_TABLES:
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in PEOPLE_TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for subscriber in list(_subscribers):
            subscriber.people_changed()
