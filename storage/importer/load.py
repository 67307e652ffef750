"""Pass two: load a validated plan as a new version and publish it (`storage.importer.versions`).

Reference data (organizations, houses, apartments, accounts, services, meters) is upserted in short
transactions: new rows are inserted and existing ones updated (portable SQL, no dialect-specific
ON CONFLICT). Charges and payments go into the run's own version in short transactions that no
reader sees; readings, the pointers of the periods and the run's state go in one small publishing
transaction. Only one import loads at a time (the operators' flow and the CLI run them one by one;
`publish` refuses a version whose periods another import published meanwhile).
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause

from storage.importer import bulk as t
from storage.importer import versions as v
from storage.importer.formats import KINDS_BY_NAME
from storage.importer.plan import Known, Plan, Progress
from storage.models import utcnow
from storage.periods import format_period, int_to_period


@dataclass
class Summary:
    """What an import did, for the operator's report."""

    import_run_id: int = 0
    rows: int = 0
    periods: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    created_at: dt.datetime | None = None  # UTC, naive
    new_periods: list[int] = field(default_factory=list)  # charges' periods with none before


PACE_ROWS = 2000  # rows per statement (a few ms of SQLite's work) between the pacer's ticks
PAGE_ROWS = 20_000  # rows of a large table read at a time (the driver buffers a whole result)


# --- what exists ---------------------------------------------------------------------------------


def read_known(conn: Connection, known: Known, kinds: set[str]) -> None:
    """Load the natural keys the files can refer to (only of the kinds they need)."""
    o, h, a, acc = t.organizations, t.houses, t.apartments, t.accounts
    for (code,) in conn.execute(select(o.c.code)):
        known.add_org(code)
    if kinds & {"houses", "apartments", "accounts", "registry"}:
        _read_houses(conn, known, with_addresses="registry" in kinds)
    if kinds & {"apartments", "accounts", "registry"}:
        rows = conn.execute(
            select(o.c.code, h.c.code, a.c.number)
            .join_from(a, h, a.c.house_id == h.c.id)
            .join(o, h.c.organization_id == o.c.id)
        )
        known.apartments.update((org, house, number) for org, house, number in rows)
    if kinds & {"accounts", "meters", "charges", "payments", "readings", "registry"}:
        rows = conn.execute(
            select(o.c.code, acc.c.number).join_from(acc, o, acc.c.organization_id == o.c.id)
        )
        for org, number in rows:
            known.add_account(org, number)
    known.stored_accounts = known.account_count
    if kinds & {"services", "charges", "registry"}:
        s = t.services
        rows = conn.execute(
            select(o.c.code, s.c.code, s.c.name).join_from(s, o, s.c.organization_id == o.c.id)
        )
        for org, code, name in rows:
            known.add_service(org, code)
            known.add_service_name(org, code, name)
    if kinds & {"meters", "readings"}:
        m = t.meters
        rows = conn.execute(
            select(o.c.code, acc.c.number, m.c.code, m.c.serial)
            .join_from(m, acc, m.c.account_id == acc.c.id)
            .join(o, acc.c.organization_id == o.c.id)
        )
        for org, number, code, serial in rows:
            known.add_meter((org, number, code))
            if serial:
                known.meter_serials.setdefault((org, number, serial), code)


def _read_houses(conn: Connection, known: Known, with_addresses: bool) -> None:
    o, h = t.organizations, t.houses
    rows = conn.execute(
        select(o.c.code, h.c.code, h.c.address).join_from(h, o, h.c.organization_id == o.c.id)
    )
    for org, code, address in rows:
        known.houses.add((org, code))
        if with_addresses:  # a registry finds a new account's house by its address
            known.add_house_address(org, code, address)


# --- upserts -------------------------------------------------------------------------------------


def _upsert(
    conn: Connection,
    target: TableClause,
    key_names: Sequence[str],
    existing: Callable[[tuple], int | None],
    records: Iterable[dict[str, Any]],
    defaults: dict[str, Any],
    pacer: v.Pacer,
) -> dict[str, int]:
    """Insert new rows (missing columns from `defaults`; marked as the run's own in `import_id`,
    so that they go with its version when it is never published or undone), update existing
    ones (only the columns the file had), in the pacer's short transactions, a batch of records at a time (they may be
    hundreds of thousands: never all in memory). `existing`: a key's id, None when new.
    Returns {"new": n, "updated": n}."""
    names, fallbacks = tuple(defaults), tuple(defaults.values())
    owned = {"import_id": pacer.run_id} if "import_id" in target.c else None
    inserter = t.Inserter(conn, target, names, fixed=owned)
    key_of = itemgetter(*key_names) if len(key_names) > 1 else lambda r: (r[key_names[0]],)
    new = updated = 0
    for batch in t.batches(records, PACE_ROWS):
        new_rows = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for record in batch:
            key = key_of(record)
            row_id = existing(key)
            if row_id is None:
                new_rows.append(tuple(map(record.get, names, fallbacks)))
            else:
                columns = tuple(sorted(k for k in record if k not in key_names))
                if columns:
                    params = {f"v_{k}": record[k] for k in columns}
                    params["v_id"] = row_id
                    updates[columns].append(params)
        inserter(new_rows)
        new += len(new_rows)
        for columns, params in updates.items():
            statement = (
                update(target)
                .where(target.c.id == bindparam("v_id"))
                .values({k: bindparam(f"v_{k}") for k in columns})
            )
            conn.execute(statement, params)
            updated += len(params)
        pacer.tick()
    pacer.tick(force=True)
    return {"new": new, "updated": updated}


def _org_ids(conn: Connection) -> dict[str, int]:
    o = t.organizations
    return {code: id_ for id_, code in conn.execute(select(o.c.id, o.c.code))}


def _house_ids(conn: Connection) -> dict[tuple[int, str], int]:
    h = t.houses
    rows = conn.execute(select(h.c.id, h.c.organization_id, h.c.code))
    return {(org, code): id_ for id_, org, code in rows}


def _pages(
    conn: Connection, target: TableClause, columns: Sequence[Any], *where: Any
) -> Iterator[Any]:
    """(id, *columns) of `target`'s rows, read a page at a time in the order of ids: a table of
    hundreds of thousands of rows is never in memory at once (the driver buffers each result)."""
    last = None
    while True:
        statement = select(target.c.id, *columns).where(*where)
        if last is not None:
            statement = statement.where(target.c.id > last)
        rows = conn.execute(statement.order_by(target.c.id).limit(PAGE_ROWS)).all()
        yield from rows
        if len(rows) < PAGE_ROWS:
            return
        last = rows[-1][0]


def _apartment_ids(conn: Connection, house_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """house id → {apartment number → id}, of these houses."""
    a = t.apartments
    found: dict[int, dict[str, int]] = {house: {} for house in house_ids}
    for id_, house, number in _pages(conn, a, (a.c.house_id, a.c.number)):
        numbers = found.get(house)
        if numbers is not None:
            numbers[number] = id_
    return found


def _find_apartment(found: dict[int, dict[str, int]]) -> Callable[[tuple], int | None]:
    return lambda key: found.get(key[0], {}).get(key[1])


def account_ids(
    conn: Connection,
    known: Known,
    org_ids: dict[str, int],
    ids: array | None = None,
    run_id: int | None = None,
) -> array:
    """The database id of every account of pass one's index (`Known.accounts`), 0 for one not in
    the database: an array of 8 bytes an account. With `ids` and `run_id`: fill in the accounts
    that run created."""
    if ids is None:
        ids = array("q", bytes(8 * known.account_count))
    numbers_of = {
        org_ids[org]: numbers
        for org, numbers in known.accounts.items()
        if numbers and org in org_ids
    }
    if not numbers_of:
        return ids
    acc = t.accounts
    where = [acc.c.organization_id.in_(list(numbers_of))]
    if run_id is not None:
        where.append(acc.c.import_id == run_id)
    for id_, org, number in _pages(conn, acc, (acc.c.organization_id, acc.c.number), *where):
        index = numbers_of[org].get(number)
        if index is not None:
            ids[index] = id_
    return ids


def _find_account(
    known: Known, org_ids: dict[str, int], ids: array
) -> Callable[[tuple], int | None]:
    """(organization id, number) → id, through pass one's index."""
    numbers_of = {
        org_ids[org]: numbers for org, numbers in known.accounts.items() if org in org_ids
    }
    return lambda key: ids[numbers_of[key[0]][key[1]]] or None


def _service_ids(conn: Connection) -> dict[tuple[int, str], int]:
    s = t.services
    rows = conn.execute(select(s.c.id, s.c.organization_id, s.c.code))
    return {(org, code): id_ for id_, org, code in rows}


def _meter_ids(conn: Connection, account_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    m = t.meters
    wanted = set(account_ids)
    rows = conn.execute(select(m.c.id, m.c.account_id, m.c.code))
    return {(acc, code): id_ for id_, acc, code in rows if acc in wanted}


def _defaults(kind: str, drop: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """The table's columns with their defaults for new rows, as `formats` documents them."""
    skip = {"org", "account", *drop}
    values = {c.name: c.default for c in KINDS_BY_NAME[kind].columns if c.name not in skip}
    values.update(extra)
    return values


_LEADING_NUMBER = re.compile(r"\d+")


def sort_key(number: str) -> int:
    """`12а` → 12: apartments listed in natural order."""
    match = _LEADING_NUMBER.match(number)
    return int(match.group()) if match else 0


def house_search_text(address: str, street: str) -> str:
    text = address.lower()
    if street and street.lower() not in text:
        text = f"{street.lower()} {text}"
    return text[:800]  # the column's size


# --- the load ------------------------------------------------------------------------------------


def load(conn: Connection, plan: Plan, progress: Progress, operator_id: int | None) -> Summary:
    """Load the plan as the run's version (commits as it goes), then publish it."""
    summary = Summary(rows=plan.rows)
    summary.periods = [format_period(int_to_period(p)) for p in plan.charge_periods]
    files = ", ".join(f.name for f in plan.files)
    run_id = v.start_run(conn, files, plan.rows, summary.periods, operator_id)
    summary.import_run_id = run_id
    try:
        _load_and_publish(conn, plan, progress, summary)
    except BaseException:
        v.give_up(conn, run_id)
        raise
    return summary


def _load_and_publish(conn: Connection, plan: Plan, progress: Progress, summary: Summary) -> None:
    run_id = summary.import_run_id
    pacer = v.Pacer(conn, run_id)
    progress.start("загрузка", plan.rows, "rows")
    counts = summary.counts
    org_ids, account_ids = _load_places(conn, plan, counts, progress, pacer)
    service_ids, meter_ids = _load_services_meters(
        conn, plan, org_ids, account_ids, counts, progress, pacer
    )
    keys = [(v.CHARGES, p) for p in plan.charge_periods]
    keys += [(v.PAYMENTS, p) for p in {p for _, p in plan.payment_pairs}]
    bases = v.current_versions(conn, keys)
    loaded = _Version(conn, run_id, bases, pacer)
    counts["charges"] = _load_charges(loaded, plan, account_ids, service_ids, progress)
    counts["payments"] = _load_payments(loaded, plan, account_ids, progress)
    pacer.tick(force=True)
    progress.finish()
    progress.start("публикация", len(plan.readings), "rows")
    v.publish(conn, run_id, bases)
    counts["readings"] = _load_readings(conn, plan, meter_ids, progress, run_id)
    conn.commit()
    progress.finish()
    summary.created_at = utcnow()
    summary.new_periods = sorted(
        p for (kind, p), n in loaded.base_rows.items() if kind == v.CHARGES and n == 0
    )


def _load_services_meters(
    conn: Connection,
    plan: Plan,
    org_ids: dict[str, int],
    account_ids: array,
    counts: dict,
    progress: Progress,
    pacer: v.Pacer,
) -> tuple[list[int], list[int]]:
    """Services and meters; the database ids of pass one's service and meter indexes."""
    records = plan.records
    service_rows = []
    for r in records["services"]:
        row = {k: r[k] for k in r if k != "org"}
        row["organization_id"] = org_ids[r["org"]]
        service_rows.append(row)
    counts["services"] = _upsert(
        conn, t.services, ("organization_id", "code"), _service_ids(conn).get, service_rows,
        _defaults("services", organization_id=None), pacer,
    )  # fmt: skip
    progress.advance(len(service_rows))

    known = plan.known
    service_map = _service_ids(conn)
    service_ids = [service_map.get((org_ids[o], c), 0) for o, c in known.service_keys]

    def account_id(org: str, number: str) -> int:
        return account_ids[known.accounts[org][number]]

    def meter_row(r: dict[str, Any]) -> dict[str, Any]:
        row = {k: r[k] for k in r if k not in ("org", "account")}
        row["account_id"] = account_id(r["org"], r["account"])
        return row

    meter_accounts = {account_id(r["org"], r["account"]) for r in records["meters"]}
    if known.meter_keys:
        meter_accounts |= {account_id(o, a) for o, a, _ in known.meter_keys}
    counts["meters"] = _upsert(
        conn, t.meters, ("account_id", "code"), _meter_ids(conn, meter_accounts).get,
        map(meter_row, records["meters"]), _defaults("meters", account_id=None), pacer,
    )  # fmt: skip
    progress.advance(len(records["meters"]))
    meter_ids: list[int] = []
    if len(plan.readings):
        meter_map = _meter_ids(conn, meter_accounts)
        meter_ids = [meter_map[(account_id(o, a), c)] for o, a, c in known.meter_keys]
    return service_ids, meter_ids


def _load_places(
    conn: Connection, plan: Plan, counts: dict, progress: Progress, pacer: v.Pacer
) -> tuple[dict[str, int], array]:
    """Organizations, houses, apartments and accounts; the organizations' ids by code, and the
    accounts' ids by pass one's index (`account_ids`)."""
    records = plan.records
    existing = {(c,): i for c, i in _org_ids(conn).items()}
    org_rows = records["organizations"]
    counts["organizations"] = _upsert(
        conn, t.organizations, ("code",), existing.get, org_rows,
        _defaults("organizations"), pacer,
    )  # fmt: skip
    progress.advance(len(org_rows))
    org_ids = _org_ids(conn)

    house_rows = []
    for r in records["houses"]:
        row = {k: r[k] for k in ("code", "address", "street") if k in r}
        row["organization_id"] = org_ids[r["org"]]
        row["search_text"] = house_search_text(r["address"], r.get("street", ""))
        house_rows.append(row)
    counts["houses"] = _upsert(
        conn, t.houses, ("organization_id", "code"), _house_ids(conn).get, house_rows,
        _defaults("houses", organization_id=None, search_text=""), pacer,
    )  # fmt: skip
    progress.advance(len(house_rows))
    house_ids = _house_ids(conn)

    def apartment_row(r: dict[str, Any]) -> dict[str, Any]:
        row = {k: r[k] for k in ("number", "area", "ownership_type") if k in r}
        row["house_id"] = house_ids[(org_ids[r["org"]], r["house"])]
        row["sort_key"] = sort_key(r["number"])
        return row

    apartments = records["apartments"]
    counts["apartments"] = _upsert(
        conn, t.apartments, ("house_id", "number"),
        _find_apartment(_apartment_ids(conn, house_ids.values()) if len(apartments) else {}),
        map(apartment_row, apartments),
        _defaults("apartments", drop=["house"], house_id=None, sort_key=0), pacer,
    )  # fmt: skip
    progress.advance(len(apartments))
    ids = account_ids(conn, plan.known, org_ids)
    _load_accounts(conn, plan, org_ids, house_ids, ids, counts, pacer)
    progress.advance(len(records["accounts"]))
    return org_ids, ids


def _load_accounts(
    conn: Connection,
    plan: Plan,
    org_ids: dict[str, int],
    house_ids: dict[tuple[int, str], int],
    ids: array,
    counts: dict,
    pacer: v.Pacer,
) -> None:
    """Accounts, streamed from pass one's spool (the apartments' ids looked up as they go);
    the new ones' ids into `ids`."""
    records = plan.records["accounts"]
    if not len(records):
        counts["accounts"] = {"new": 0, "updated": 0}
        return
    apartment_ids = _apartment_ids(conn, house_ids.values())

    def account_row(r: dict[str, Any]) -> dict[str, Any]:
        row = {k: r[k] for k in ("number", "holder_name", "phone", "closed") if k in r}
        row["organization_id"] = org_ids[r["org"]]
        house = house_ids[(org_ids[r["org"]], r["house"])]
        row["apartment_id"] = apartment_ids[house][r["apartment"]]
        return row

    counts["accounts"] = found = _upsert(
        conn, t.accounts, ("organization_id", "number"), _find_account(plan.known, org_ids, ids),
        map(account_row, records),
        _defaults("accounts", drop=["house", "apartment"], organization_id=None, apartment_id=None),
        pacer,
    )  # fmt: skip
    apartment_ids.clear()  # before the new accounts are read back
    if found["new"]:
        account_ids(conn, plan.known, org_ids, ids, pacer.run_id)


class _Version:
    """The run's version being written: its rows, and what it keeps of the versions it replaces."""

    def __init__(
        self, conn: Connection, run_id: int, bases: dict[tuple[str, int], int], pacer: v.Pacer
    ) -> None:
        self.conn, self.run_id, self.bases, self.pacer = conn, run_id, bases, pacer
        self.base_rows: dict[tuple[str, int], int] = {}

    def insert(self, inserter: t.Inserter, rows: Iterable[Sequence[Any]]) -> None:
        for chunk in t.batches(rows, PACE_ROWS):
            inserter(chunk)
            self.pacer.tick()
        # never leave the write lock held over the CPU work that prepares the next batch
        self.pacer.tick(force=True)

    def carry_over(
        self, kind: str, target: Any, columns: tuple[str, ...], pairs: Iterable[tuple[int, int]]
    ) -> int:
        """Rows of the replaced versions of accounts the files do not list, copied; the count of
        the replaced versions' rows that the files do replace."""
        replaced: dict[int, set[int]] = defaultdict(set)
        for account, period in pairs:
            replaced[period].add(account)
        count = 0
        for period, accounts in sorted(replaced.items()):
            base = self.bases[(kind, period)]
            carried, total = v.carry_over(
                self.conn, target, columns, period, base, self.run_id, accounts, self.pacer
            )
            self.base_rows[(kind, period)] = total
            count += total - carried
        return count


def _load_charges(
    version: _Version,
    plan: Plan,
    account_ids: list[int],
    service_ids: list[int],
    progress: Progress,
) -> dict[str, int]:
    if not len(plan.charges):
        return {"new": 0, "replaced": 0}
    inserter = t.Inserter(
        version.conn, t.charges, t.CHARGE_COLUMNS, fixed={"import_id": version.run_id}
    )
    width = len(t.CHARGE_COLUMNS)
    for batch in plan.charges.batches():
        # indexes of pass one → ids, a column at a time; then the flat array → row tuples
        batch[0::width] = array("q", map(account_ids.__getitem__, batch[0::width]))
        batch[2::width] = array("q", map(service_ids.__getitem__, batch[2::width]))
        version.insert(inserter, zip(*[iter(batch)] * width, strict=True))
        progress.advance(len(batch) // width)
    _load_recalc_notes(version, plan, account_ids, service_ids)
    pairs = ((account_ids[a], p) for a, p in plan.charge_pairs)
    columns = (*t.CHARGE_COLUMNS, *t.CHARGE_NOTE_COLUMNS)
    replaced = version.carry_over(v.CHARGES, t.charges, columns, pairs)
    return {"new": len(plan.charges), "replaced": replaced}


def _load_recalc_notes(
    version: _Version, plan: Plan, account_ids: list[int], service_ids: list[int]
) -> None:
    """The reasons and months of the run's recalculations, on the rows just inserted."""
    if not plan.recalc_notes:
        return
    c = t.charges
    statement = (
        update(c)
        .where(
            c.c.import_id == version.run_id,
            c.c.account_id == bindparam("a"),
            c.c.period == bindparam("p"),
            c.c.service_id == bindparam("s"),
        )
        .values(
            recalc_reason=bindparam("reason"),
            recalc_from=bindparam("first"),
            recalc_to=bindparam("last"),
        )
    )
    params = [
        {"a": account_ids[a], "p": p, "s": service_ids[s_], "reason": reason, "first": first,
         "last": last}
        for (a, p, s_), (reason, first, last) in plan.recalc_notes.items()
    ]  # fmt: skip
    for batch in t.batches(params, PACE_ROWS):
        version.conn.execute(statement, batch)
        version.pacer.tick()
    version.pacer.tick(force=True)


def _load_payments(
    version: _Version, plan: Plan, account_ids: list[int], progress: Progress
) -> dict[str, int]:
    if not len(plan.payments):
        return {"new": 0, "replaced": 0}
    inserter = t.Inserter(version.conn, t.payments, (*t.PAYMENT_COLUMNS, "import_id"))
    run = version.run_id
    for batch in plan.payments.batches():
        version.insert(inserter, [(account_ids[a], p, *rest, run) for a, p, *rest in batch])
        progress.advance(len(batch))
    pairs = ((account_ids[a], p) for a, p in plan.payment_pairs)
    replaced = version.carry_over(v.PAYMENTS, t.payments, t.PAYMENT_COLUMNS, pairs)
    return {"new": len(plan.payments), "replaced": replaced}


def _load_readings(
    conn: Connection, plan: Plan, meter_ids: list[int], progress: Progress, run_id: int
) -> dict[str, int]:
    """A reading that equals the meter's current one for the period changes nothing; any
    other value becomes the next version (the history keeps every version). Part of the
    publishing transaction: readings have no versions of their own (undo deletes the run's)."""
    if not len(plan.readings):
        return {"new": 0, "unchanged": 0}
    r = t.readings
    periods = sorted({p for batch in plan.readings.batches() for _, p, *_ in batch})
    current: dict[tuple[int, int], tuple[int, int]] = {}
    for chunk in t.batches(periods, 500):
        rows = conn.execute(
            select(r.c.meter_id, r.c.period, r.c.version, r.c.value).where(r.c.period.in_(chunk))
        )
        for meter, period, version, value in rows:
            if (meter, period) not in current or current[(meter, period)][0] < version:
                current[(meter, period)] = (version, value)
    inserter = t.Inserter(conn, r, (*t.READING_COLUMNS, "import_id"))
    now = utcnow()
    new = unchanged = 0
    for batch in plan.readings.batches():
        rows = []
        for index, period, value, taken_on, source in batch:
            meter = meter_ids[index]
            version, previous = current.get((meter, period), (0, None))
            if previous == value:
                unchanged += 1
                continue
            rows.append(
                (meter, period, value, taken_on, source, version + 1, now, False, "", run_id)
            )
        inserter(rows)
        new += len(rows)
        progress.advance(len(batch))
    return {"new": new, "unchanged": unchanged}


# --- the preview's change against the published data ------------------------------------------


def changes(conn: Connection, plan: Plan) -> list[dict[str, int]]:
    """Per period of the files' charges: accounts and the total charged that residents see now,
    and after the import (a file replaces the accounts it lists and keeps the others)."""
    width = plan.charges.width
    new_charged: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for batch in plan.charges.batches():
        for account, period, charged in zip(
            batch[0::width], batch[1::width], batch[6::width], strict=True
        ):
            new_charged[period][account] += charged
    ids = account_ids(conn, plan.known, _org_ids(conn))
    c = t.charges
    result = []
    for period, files in sorted(new_charged.items()):
        (base,) = v.current_versions(conn, [(v.CHARGES, period)]).values()
        before = dict(
            conn.execute(
                select(c.c.account_id, func.sum(c.c.charged))
                .where(c.c.import_id == base, c.c.period == period)
                .group_by(c.c.account_id)
            ).all()
        )
        listed = {ids[index] for index in files if ids[index]}
        added = len(files) - len(listed & before.keys())
        after = sum(before.values()) - sum(before[a] for a in listed if a in before)
        result.append(
            {
                "period": period,
                "accounts_before": len(before),
                "accounts_after": len(before) + added,
                "accounts_added": added,
                "accounts_removed": 0,
                "charged_before": int(sum(before.values())),
                "charged_after": int(after + sum(files.values())),
            }
        )
    return result
