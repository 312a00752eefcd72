"""Usage ingestion (issue 7, part 1): telemetry posts raw events in lists of up to 10,000;
all are validated first, then stored in one transaction with the daily rollup kept right.

The API, the CSV upload page and `bench/ingest.py` share this module:
`usage_events_ingest_json` is what the API view calls (body bytes in, result out),
`usage_events_ingest` what every path ends in. Validation is plain Python (a DRF
serializer per event would cost more than the whole write) and resolves every account in
one query. The write is a fixed number of statements per request, never one per event:

1. a transaction-level advisory lock on PostgreSQL, so that two requests never compute
   the same rollup row from different snapshots (SQLite's IMMEDIATE transactions already
   serialise writers);
2. the event_ids already stored (the duplicates), in one query;
3. the event types already known, and one insert of the new ones;
4. the new events: COPY on PostgreSQL, INSERT ... ON CONFLICT (event_id) DO NOTHING in
   batches of 5,000 elsewhere;
5. the rollup rows of the touched (account, local day, event type) keys, recomputed from
   the raw events by one INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE
   (`_ROLLUP_SQL`; on SQLite one per 6,500 keys, the parameter limit).

Days are local days in settings.TIME_ZONE, like `health.services.usage_rollup`.
"""

import datetime as dt
import io
import json
import logging
import math
import sqlite3
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from cs_platform.access import visible_accounts

from .models import EventType, UsageDaily, UsageEvent

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000
# 10,000 events with every string at its longest, even written as \u escapes, stay below.
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_TEXT = 100
MAX_ABS_VALUE = 1e15  # keeps sums finite: PostgreSQL raises on float overflow
FUTURE_SLACK = dt.timedelta(days=1)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
INSERT_BATCH = 5_000  # events per INSERT statement
ADVISORY_LOCK_KEY = 7_001_001  # any constant; names the "usage ingestion" lock on PostgreSQL

FIELDS = ("account_external_id", "event_type", "occurred_at", "user_id", "value", "event_id")


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


class UsageEventsInvalid(ValidationError):
    """The request was rejected whole. `errors` is `[{"index": i, field: [messages]}]` for
    bad events, or `[{"non_field_errors": [...]}]` when the body itself is wrong."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(_("The usage events were not stored: some are invalid."), code="invalid")


def _body_error(message: str) -> UsageEventsInvalid:
    return UsageEventsInvalid([{"non_field_errors": [message]}])


# ------------------------------------------------------------------ parsing


def usage_events_parse(body: bytes) -> list:
    """The JSON list in a request body, or UsageEventsInvalid naming what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        raise _body_error(_("The request body is larger than %(max)s MB.") % {"max": MAX_BODY_BYTES // 2**20})
    try:
        rows = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        raise _body_error(_("The body is not valid JSON.")) from None
    if not isinstance(rows, list):
        raise _body_error(_("Expected a JSON list of events."))
    return rows


def usage_events_ingest_json(body: bytes, *, by=None) -> IngestResult:
    """What the bulk API does with a request body: parse, validate, store."""
    return usage_events_ingest(usage_events_parse(body), by=by)


# ------------------------------------------------------------------ validation


def _text(value, *, required: bool) -> tuple[str | None, str | None]:
    """(text, None) or (None, error message) for an identifier-like string field."""
    if (
        type(value) is str  # the usual case, decided in a few C calls: what the checks below would keep as is
        and value.isascii()
        and 0 < len(value) <= MAX_TEXT
        and not value[0].isspace()
        and not value[-1].isspace()
        and "\x00" not in value
    ):
        return value, None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif value is None:
        if required:
            return None, _("This field is required.")
        return "", None
    elif not isinstance(value, str):
        return None, _("Expected a string.")
    value = value.strip()
    if not value:
        if required:
            return None, _("This field may not be blank.")
        return "", None
    if len(value) > MAX_TEXT:
        return None, _("At most %(max)s characters.") % {"max": MAX_TEXT}
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None, _("Contains characters that are not valid text.")
    if "\x00" in value:
        return None, _("Contains characters that are not valid text.")
    return value, None


def _timestamp(value, latest: dt.datetime) -> tuple[dt.datetime | None, str | None]:
    if not isinstance(value, str) or len(value) < 16 or value[10] not in "Tt ":
        if value is None or value == "":
            return None, _("This field is required.")
        return None, _("Enter a timestamp in ISO 8601, e.g. 2025-03-01T09:30:00Z.")
    try:
        moment = dt.datetime.fromisoformat(value)
        moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None, _("Enter a timestamp in ISO 8601, e.g. 2025-03-01T09:30:00Z.")
    if moment > latest:
        return None, _("This time is more than a day in the future.")
    if moment < EARLIEST:
        return None, _("This time is before 1970.")
    return moment, None


def _number(value) -> tuple[float | None, str | None]:
    if value is None:
        return 1.0, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, _("A number is required.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
        return None, _("Enter a finite number between -10^15 and 10^15.")
    return number, None


def _account_ids(external_ids: set[str], *, by) -> dict[str, int]:
    """{external_id: pk} in one query; an account the caller may not see reads as one
    that does not exist."""
    accounts = Account.objects.all() if by is None else visible_accounts(by)
    if _fast_path():  # one array parameter instead of 10,000 (the ORM prepares each)
        table = connection.ops.quote_name(Account._meta.db_table)
        accounts = accounts.filter(
            RawSQL(f"{table}.external_id = ANY(%s::text[])", [_pg_array(external_ids, text=True)], BooleanField())
        )
    else:
        accounts = accounts.filter(external_id__in=external_ids)
    return dict(accounts.values_list("external_id", "pk").order_by())


def _validate(rows: list, *, by) -> list[tuple]:
    """Every row checked; returns the events as tuples
    (account_id, event_type, occurred_at, user_id, value, event_id), in order."""
    if len(rows) > MAX_EVENTS:
        raise _body_error(
            _("At most %(max)s events per request; this one has %(count)s.")
            % {"max": f"{MAX_EVENTS:,}", "count": f"{len(rows):,}"}
        )
    latest = timezone.now() + FUTURE_SLACK
    errors: list[dict] = []
    parsed: list[tuple] = []
    external_ids: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append({"index": index, "non_field_errors": [_("Expected an object.")]})
            parsed.append(None)
            continue
        problems = {}
        external_id, error = _text(row.get("account_external_id"), required=True)
        if error:
            problems["account_external_id"] = [error]
        else:
            external_ids.add(external_id)
        event_type, error = _text(row.get("event_type"), required=True)
        if error:
            problems["event_type"] = [error]
        occurred_at, error = _timestamp(row.get("occurred_at"), latest)
        if error:
            problems["occurred_at"] = [error]
        user_id, error = _text(row.get("user_id"), required=False)
        if error:
            problems["user_id"] = [error]
        value, error = _number(row.get("value"))
        if error:
            problems["value"] = [error]
        event_id, error = _text(row.get("event_id"), required=True)
        if error:
            problems["event_id"] = [error]
        if problems:
            errors.append({"index": index, **problems})
        parsed.append((external_id, event_type, occurred_at, user_id, value, event_id))

    account_ids = _account_ids(external_ids, by=by)
    by_index = {e["index"]: e for e in errors}
    events = []
    for index, item in enumerate(parsed):
        if item is None:
            continue
        external_id = item[0]
        account_id = account_ids.get(external_id) if external_id is not None else None
        if external_id is not None and account_id is None:
            problems = by_index.get(index)
            if problems is None:
                problems = by_index[index] = {"index": index}
                errors.append(problems)
            problems["account_external_id"] = [_("Unknown account.")]
        events.append((account_id, *item[1:]))
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise UsageEventsInvalid(errors)
    return events


# ------------------------------------------------------------------ writing
#
# Plain SQL rather than the ORM: compiling 10,000 model instances in bulk_create cost
# more than the whole database work (about 0.5 s a request). The portable statements are
# what bulk_create(ignore_conflicts=True) and update_conflicts send, with the values
# adapted by the backend's own adapters; they run on SQLite (>= 3.24; fewer statements
# from 3.32, which takes 32,766 parameters) and PostgreSQL. PostgreSQL takes a faster path
# for the bulky inputs: COPY for the new events, and one array literal instead of 10,000
# parameters for the account lookup, the duplicate check and the rollup keys (the driver
# adapts and the server plans each parameter); the rollup statement itself is the same.
# Both paths are tested: the suite runs on SQLite and on PostgreSQL.

# Recompute the rollup rows of the given keys from the raw events. `k` carries each key
# with its local day's bounds in UTC, so no database time-zone function is needed and the
# scan per key is an index range on (account_id, occurred_at). The CROSS JOIN fixes
# SQLite's join order (keys outside, raw events inside); on PostgreSQL `_lock` turns hash
# and merge joins off for the transaction, so the plan stays a nested loop over the keys
# with an index scan each, whatever the size of the raw table or the freshness of its
# statistics (a hash join would read all of it).
_ROLLUP_SQL = """
WITH k (account_id, event_type, day, day_start, day_end) AS ({keys})
INSERT INTO {daily} (account_id, day, event_type, events, value_sum, distinct_users)
SELECT e.account_id, k.day, e.event_type, COUNT(*), SUM(e.value), COUNT(DISTINCT NULLIF(e.user_id, ''))
FROM k CROSS JOIN {events} e
WHERE e.account_id = k.account_id AND e.event_type = k.event_type
  AND e.occurred_at >= k.day_start AND e.occurred_at < k.day_end
GROUP BY e.account_id, k.day, e.event_type
ON CONFLICT (account_id, day, event_type) DO UPDATE
SET events = excluded.events, value_sum = excluded.value_sum, distinct_users = excluded.distinct_users
"""
_KEY_PARAMS = 5
_PG_KEYS = "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::date[], %s::timestamptz[], %s::timestamptz[])"
_EVENT_COLUMNS = ("account_id", "event_type", "occurred_at", "user_id", "value", "event_id")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _fast_path() -> bool:
    return connection.vendor == "postgresql"


def _max_params() -> int:
    """How many parameters one statement may carry. Django assumes 999 on SQLite, the
    limit of old versions; ask the library (32,766 since SQLite 3.32)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 60_000


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _lock(cursor) -> None:
    """Serialise ingestion on PostgreSQL (SQLite's IMMEDIATE transactions already do): two
    requests touching one rollup row must not each recompute it from their own snapshot.
    The same statement turns hash and merge joins off until the transaction ends: the
    duplicate check and the rollup join 10,000 keys to the raw table, and with statistics
    lagging behind a bulk load the planner would rather read the whole table than probe
    its index 10,000 times; a nested loop of index probes costs the same at any size.
    (JIT compiling those plans costs more than it saves.)"""
    if _fast_path():
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s), set_config('enable_hashjoin', 'off', true),"
            " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)",
            [ADVISORY_LOCK_KEY],
        )


def _pg_array(values, *, text: bool = False) -> str:
    """A PostgreSQL array literal: one parameter that the server parses in one go, instead
    of thousands of parameters each adapted by the driver and planned as a constant."""
    if text:
        return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return "{" + ",".join(map(str, values)) + "}"


def _existing_event_ids(cursor, event_ids: list[str], limit: int) -> set[str]:
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    if _fast_path():  # a join, so the plan is an index probe per id (see _lock), never a scan
        sql = f"SELECT e.event_id FROM unnest(%s::text[]) AS x (id) JOIN {table} e ON e.event_id = x.id"
        cursor.execute(sql, [_pg_array(event_ids, text=True)])
        return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for part in _chunks(event_ids, limit):
        cursor.execute(f"SELECT event_id FROM {table} WHERE event_id IN ({', '.join(['%s'] * len(part))})", part)
        found.update(row[0] for row in cursor.fetchall())
    return found


def _insert_events(cursor, events: list[tuple], limit: int) -> None:
    qn = connection.ops.quote_name
    table, columns = qn(UsageEvent._meta.db_table), ", ".join(qn(c) for c in _EVENT_COLUMNS)
    if _fast_path():
        # Events already stored were left out under the lock, so COPY meets no conflict
        # unless something else wrote the same event_id meanwhile; then the savepoint
        # falls back to the INSERT that skips it.
        esc = _COPY_ESCAPES
        text = "".join(
            f"{a}\t{t.translate(esc)}\t{o.isoformat()}\t{u.translate(esc)}\t{v!r}\t{i.translate(esc)}\n"
            for a, t, o, u, v, i in events
        )
        try:
            with transaction.atomic(), connection.wrap_database_errors:
                cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO(text))
            return
        except IntegrityError:
            log.warning("usage ingest: COPY met an event_id stored meanwhile; inserting with ON CONFLICT")
    adapt = connection.ops.adapt_datetimefield_value
    for part in _chunks(events, min(INSERT_BATCH, limit // len(_EVENT_COLUMNS))):
        params = []
        for account_id, event_type, occurred_at, user_id, value, event_id in part:
            params += (account_id, event_type, adapt(occurred_at), user_id, value, event_id)
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT (event_id) DO NOTHING", params)


def _rollup(cursor, events: list[tuple], limit: int) -> int:
    """Recompute the rollup rows touched by `events`; returns how many keys."""
    tz = timezone.get_default_timezone()
    fast = _fast_path()
    if fast:  # text, cast by the statement: cheaper to send than date and datetime objects

        def adapt_day(day):
            return day.isoformat()

        def adapt_moment(moment):
            return moment.isoformat()
    else:
        adapt_day, adapt_moment = connection.ops.adapt_datefield_value, connection.ops.adapt_datetimefield_value
    days: dict[dt.date, tuple] = {}
    keys = set()
    for account_id, event_type, occurred_at, *_rest in events:
        day = occurred_at.astimezone(tz).date()
        if day not in days:
            start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            days[day] = (adapt_day(day), adapt_moment(start), adapt_moment(end))
        keys.add((account_id, event_type, *days[day]))
    qn = connection.ops.quote_name
    sql = _ROLLUP_SQL.replace("{daily}", qn(UsageDaily._meta.db_table)).replace(
        "{events}", qn(UsageEvent._meta.db_table)
    )
    keys = sorted(keys)
    if fast:
        columns = list(zip(*keys, strict=True))
        params = [_pg_array(column, text=i == 1) for i, column in enumerate(columns)]
        cursor.execute(sql.replace("{keys}", _PG_KEYS), params)
        return len(keys)
    for part in _chunks(keys, max(1, limit // _KEY_PARAMS)):
        values = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
        cursor.execute(sql.replace("{keys}", values), [value for key in part for value in key])
    return len(keys)


def usage_events_ingest(rows: list, *, by=None) -> IngestResult:
    """Store a list of usage events (dicts with the fields of the API), all or none.

    Raises UsageEventsInvalid naming every bad event by index when any is invalid, and
    then writes nothing. An event_id stored before, or seen earlier in the same list,
    counts as a duplicate and is not stored again (the first occurrence wins), so posting
    the same list twice changes nothing. `by` limits the accounts to those the user may
    see (None: all, for trusted callers)."""
    try:
        return _store(_validate(rows, by=by), by=by)
    except IntegrityError:
        # Only an account deleted after validation gets here (the foreign key is checked at
        # commit); checking again names it as unknown.
        log.warning("usage ingest: an account went away while storing; validating again")
        return _store(_validate(rows, by=by), by=by)


def _store(events: list[tuple], *, by) -> IngestResult:
    unique: dict[str, tuple] = {}
    for event in events:
        unique.setdefault(event[5], event)
    keys = 0
    with transaction.atomic(), connection.cursor() as cursor:
        limit = _max_params()
        _lock(cursor)
        existing = _existing_event_ids(cursor, list(unique), limit)
        new = [e for event_id, e in unique.items() if event_id not in existing]
        types = {e[1] for e in unique.values()}
        known = set(EventType.objects.filter(name__in=types).values_list("name", flat=True).order_by())
        if types - known:
            EventType.objects.bulk_create(
                [EventType(name=name) for name in sorted(types - known)], ignore_conflicts=True
            )
        if new:
            _insert_events(cursor, new, limit)
            keys = _rollup(cursor, new, limit)
            # Events of days before today change today's score: score those accounts again soon.
            midnight = dt.datetime.combine(timezone.localdate(), dt.time.min, tzinfo=timezone.get_default_timezone())
            late = {e[0] for e in new if e[2] < midnight}
            if late:
                from .tasks import health_score_soon

                health_score_soon(late)
    result = IngestResult(accepted=len(new), duplicates=len(events) - len(new))
    log.info(
        "usage ingest by %s: %d accepted, %d duplicates, %d rollup keys",
        getattr(by, "username", "-"),
        result.accepted,
        result.duplicates,
        keys,
    )
    return result
