# One image for every process of the service: the API (default command), the worker
# (`python -m service.worker`), the one-shot bootstrap (`python -m service.bootstrap`) and, for
# local stacks, the stand-in WebUI (`python -m service.devtools.standin_webui`).
#
# BASE_IMAGE must provide `python3` (3.11 or newer) with the venv module; the official slim image
# and a Debian bookworm root file system with python3 and python3-venv both qualify.
ARG BASE_IMAGE=python:3.12-slim

# --- builder: wheels of the project and its dependencies, installed into a fresh venv ---------
FROM ${BASE_IMAGE} AS builder

# Optional extras of the project, comma separated (e.g. "local" for moto's server).
ARG EXTRAS=""
# Package index settings, passed through to pip only while building; empty means pip's default.
ARG PIP_INDEX_URL=""
ARG PIP_EXTRA_INDEX_URL=""

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service

# The build venv carries pip and setuptools; the runtime venv gets only what the project needs.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip wheel --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}" \
    && python3 -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-index \
        --find-links /wheels "sd-task-service${EXTRAS:+[$EXTRAS]}"

# --- runtime: the base image, the venv and an unprivileged user; no compiler, no sources ------
FROM ${BASE_IMAGE} AS runtime

RUN useradd --system --uid 10001 --user-group --home-dir /home/app --create-home \
        --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000

USER 10001:10001
WORKDIR /home/app
EXPOSE 8000

# Python only: slim images have no curl. The worker and bootstrap commands override or ignore it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# Exec form, so gunicorn is PID 1 and gets SIGTERM from `docker stop` or ECS directly.
CMD ["gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"]
