# syntax=docker/dockerfile:1
# One image for every role: `companion serve --host 0.0.0.0` (the default command),
# `companion projections run` (the projection worker) and any one-off CLI job
# (`companion store migrate`, `companion projections rebuild`, …).
#
# The base is pinned by its exact tag. Pin its digest too where a registry can be
# reached (`docker buildx imagetools inspect python:3.11.13-slim-bookworm`) and
# write it as PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:….
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/companion
WORKDIR /src
# Every dependency pinned and checked by its hash, exactly as `make run` installs them;
# setuptools and wheel come from the same lock, so the project's own wheel is built
# without fetching anything unlocked.
COPY requirements.lock ./
RUN /opt/companion/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
COPY projections ./projections
RUN /opt/companion/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/companion/bin/pip install --no-deps --no-index /wheels/companion-*.whl \
    && /opt/companion/bin/pip uninstall --yes setuptools wheel pip

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/companion/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMPANION_DATA_DIR=/var/lib/companion \
    COMPANION_PORT=8000 \
    COMPANION_LOG_FORMAT=json \
    HOME=/home/companion
RUN groupadd --system --gid 10001 companion \
    && useradd --system --uid 10001 --gid companion --home-dir /home/companion \
        --create-home --shell /usr/sbin/nologin companion \
    && install -d -o companion -g companion -m 0700 /var/lib/companion
COPY --from=build /opt/companion /opt/companion
WORKDIR /home/companion
USER 10001:10001
# The embedded SQLite store and a generated JWT secret live here when no
# PostgreSQL and no COMPANION_JWT_SECRET are given.
VOLUME ["/var/lib/companion"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
ENTRYPOINT ["companion"]
CMD ["serve", "--host", "0.0.0.0"]
