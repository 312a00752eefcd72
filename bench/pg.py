"""What the PostgreSQL-only benchmarks share: the environment they run Django in, and a
database generated once per data shape and reused until the shape changes."""

import json
import os
import sys
import time

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cs_bench"
MARKER = "bench_generated"


def configure(suffix: str, script: str) -> str:
    """Point Django at BENCH_DATABASE_URL (or the default) plus `suffix`, PostgreSQL only."""
    url = f"{os.environ.get('BENCH_DATABASE_URL') or DEFAULT_URL}_{suffix}"
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit(f"{script} runs on PostgreSQL only; BENCH_DATABASE_URL gives {url}")
    os.environ["DATABASE_URL"] = url
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cs_platform.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "WARNING",
            # Late events queue a rescoring task; in memory it goes away with the process
            # instead of waiting in the dev broker for the next `make run`.
            "CELERY_BROKER_URL": "memory://",
        }
    )
    return url


def _server(settings_dict, dbname: str):
    import psycopg2

    params = {k: v for k, v in {
        "host": settings_dict["HOST"], "port": settings_dict["PORT"],
        "user": settings_dict["USER"], "password": settings_dict["PASSWORD"],
    }.items() if v}  # fmt: skip
    conn = psycopg2.connect(dbname=dbname, **params)
    conn.autocommit = True
    return conn


def _generated(settings_dict, shape: dict) -> dict | None:
    """The marker of an earlier generation with the same shape, or None."""
    import psycopg2

    try:
        conn = _server(settings_dict, settings_dict["NAME"])
    except psycopg2.OperationalError:
        return None  # no such database yet
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [MARKER])
        row = None
        if cur.fetchone()[0] is not None:
            cur.execute(f"SELECT shape, generated_on, seconds FROM {MARKER}")
            row = cur.fetchone()
    conn.close()
    if row is None or json.loads(row[0]) != shape:
        return None
    return {"generated_on": row[1], "seconds": row[2]}


def _recreate(settings_dict) -> None:
    conn = _server(settings_dict, "postgres")
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{settings_dict["NAME"]}"')
        cur.execute(f'CREATE DATABASE "{settings_dict["NAME"]}"')
    conn.close()


def prepare(shape: dict, regenerate: bool, generate, what: str) -> None:
    """Migrate a database holding data of `shape`: reused when an earlier run generated
    the same shape, otherwise recreated and filled by `generate(**shape)` (timed, once).
    `what` describes the data for the log line."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    marker = None if regenerate else _generated(connection.settings_dict, shape)
    if marker is None:
        _recreate(connection.settings_dict)
    call_command("migrate", verbosity=0)
    if marker is not None:
        print(
            f"data: reusing {what} generated on {marker['generated_on']} "
            f"(in {marker['seconds']:.0f} s; --regenerate to start over)"
        )
        return
    print(f"data: generating {what} (once)...", flush=True)
    start = time.perf_counter()
    generate(**shape)
    seconds = time.perf_counter() - start
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE {MARKER} (shape text, generated_on date, seconds float)")
        cur.execute(
            f"INSERT INTO {MARKER} VALUES (%s, %s, %s)",
            [json.dumps(shape, sort_keys=True), timezone.localdate(), seconds],
        )
    print(f"data: generated in {seconds:.1f} s (not a target)")
