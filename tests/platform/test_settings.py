"""Configuration comes from the environment; production values pass check --deploy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.environment import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k8$Jq2!vZ-production-like-secret-of-sufficient-length-9f3a1c7e",
    "ALLOWED_HOSTS": "cs.example.com",
    "DATABASE_URL": "postgres://cs:cs@db.example.com:5432/cs",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def run_manage(*args, env_extra=None, cwd=ROOT):
    skip = {*PRODUCTION, *TEST_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_production_values_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_read_the_environment():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL, s.EMAIL_HOST)"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env_extra=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "['cs.example.com']", "db.example.com", "redis://redis.example.com:6379/0", "smtp.example.com",
    ]  # fmt: skip


def test_defaults_need_no_server(tmp_path):
    """Without configuration: a SQLite file in WAL mode and the filesystem broker."""
    code = (
        "from django.conf import settings as s; from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); "
        "print(s.DATABASES['default']['ENGINE'], c.fetchone()[0], s.CELERY_BROKER_URL)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "wal", "filesystem://"]


def test_dotenv_file_is_honoured(tmp_path):
    """A .env beside manage.py is read; the real environment still wins."""
    project = tmp_path / "project"
    skip = shutil.ignore_patterns(".env", "var", ".git", ".venv", "node_modules", "staticfiles", "__pycache__")
    shutil.copytree(ROOT, project, ignore=skip)
    (project / ".env").write_text("CURRENCY=USD\nTIME_ZONE=Europe/Paris\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CURRENCY", "TIME_ZONE")}
    env["TIME_ZONE"] = "Asia/Tokyo"
    code = "from django.conf import settings as s; print(s.CURRENCY, s.TIME_ZONE)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["USD", "Asia/Tokyo"]


def test_production_static_files_collect_with_the_manifest_storage(tmp_path):
    """What the Docker image does at build time: every asset is local and resolvable."""
    code = (
        "from django.conf import settings; from django.core.management import call_command;"
        f"settings.STATIC_ROOT = {str(tmp_path)!r}; call_command('collectstatic', '--noinput', '-v', '0');"
        "print('ok')"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env_extra=PRODUCTION)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/htmx-2.0.11.min.js" in manifest and "vendor/chart-4.6.1.umd.min.js" in manifest
