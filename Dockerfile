# One image for every Python role: the public site (the default command), the back office, the
# Celery worker and beat. docker-compose.yml picks the role and the secrets each one receives.
FROM python:3.11-slim-bookworm

# gnupg: tipline/crypto.py drives the gpg binary. gettext: msgfmt for compilemessages below.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends gnupg gettext \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 tipline \
    && useradd --uid 10001 --gid tipline --no-create-home --shell /usr/sbin/nologin tipline

# Settings find templates, static files and translations next to the source (BASE_DIR), so the
# code runs from /app; PYTHONPATH puts it ahead of the copy that pip installs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY . .
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# Settings write secrets and state under TIPLINE_DATA_DIR on import. Point it at a throwaway
# directory with throwaway secrets, and remove it in the same layer, so no secret of any kind is
# left in the image. Whitenoise serves static files through the finders, so the collected copy
# is not needed at run time: collectstatic here only proves the static files are complete.
RUN export SECRET_KEY=build-only-not-secret \
        TIPLINE_CODENAME_PEPPER=build-only-not-secret \
        TIPLINE_DATA_DIR=/tmp/build \
    && python manage.py compilemessages \
    && TIPLINE_SITE=public python manage.py collectstatic --noinput \
    && rm -rf /tmp/build

# Volumes mounted here start with this owner and mode (0700: the data is the tipline user's).
RUN mkdir /data /files \
    && chown tipline:tipline /data /files \
    && chmod 0700 /data /files
ENV TIPLINE_DATA_DIR=/data
VOLUME /data

USER tipline
EXPOSE 8000
# gunicorn.conf.py: no access log, threaded workers (TIPLINE_WEB_WORKERS, TIPLINE_WEB_THREADS).
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "tipline.wsgi_public", "--bind", "0.0.0.0:8000"]
