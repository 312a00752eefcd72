# Customer-success platform: one image for web (gunicorn), Celery worker, Celery beat
# and the one-shot migrate job (see docker-compose.yml). Configuration comes from the
# environment at run time (cs_platform/settings.py); no secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=cs_platform.settings

# Unprivileged runtime user. It gets a home directory because gunicorn puts its
# control socket in $HOME/.gunicorn/.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

# Pango and CJK fonts for the PDFs WeasyPrint renders (stage reports in Chinese too).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so code changes do not invalidate this layer.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root (read-only for the app user).
COPY . .

# Static files are collected at build time (whitenoise serves them with the manifest
# storage when DEBUG is false). The settings insist on a SECRET_KEY, so a dummy,
# build-only value is given to this one command; the real key comes at run time.
# var/ is the only writable place in /app (SQLite / filesystem-broker defaults when
# the image is run without DATABASE_URL / CELERY_BROKER_URL).
RUN SECRET_KEY=build-only-not-secret DEBUG=false python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown -R app:app var

USER app

EXPOSE 8000

CMD ["gunicorn", "cs_platform.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "3", \
     "--access-logfile", "-", \
     "--worker-tmp-dir", "/dev/shm"]
