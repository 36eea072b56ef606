# collab-notes: the server with its notes on a volume.
#   docker build -t collab-notes .
#   docker run -p 8000:8000 -v collab-notes-data:/data collab-notes
# It listens on every interface (COLLAB_HOST=0.0.0.0): /metrics answers only from
# inside the container unless COLLAB_METRICS_TOKEN is set (-e COLLAB_METRICS_TOKEN=...),
# and then only to Authorization: Bearer <that token>.
#
# BASE_IMAGE is any image with Python 3.11 or newer as python3, its venv module
# and useradd; scripts/test-image builds one from Debian's packages and passes
# it with --build-arg, since its machines cannot pull python:3.11-slim.
ARG BASE_IMAGE=python:3.11-slim

# Build the virtualenv in a stage of its own: the sources, pip and its caches
# stay behind, only the installed environment is copied on.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
# The locked versions first (requirements/server.txt: every package with its hashes,
# the PostgreSQL and Redis drivers included, so that one image serves both a single
# process on SQLite and several behind a load balancer, deploy/compose.yaml), in a
# layer of their own that a change of our code does not rebuild; then collab-notes
# itself, with no dependency of its own, built by the locked setuptools.
COPY requirements/server.txt ./requirements/server.txt
RUN python3 -m venv /opt/collab-notes \
    && /opt/collab-notes/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes -r requirements/server.txt
COPY pyproject.toml README.md ./
COPY collab ./collab
COPY storage ./storage
COPY web ./web
COPY cluster ./cluster
RUN /opt/collab-notes/bin/pip install --no-cache-dir --disable-pip-version-check \
        --no-deps --no-build-isolation . \
    && /opt/collab-notes/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE_IMAGE}
COPY --from=build /opt/collab-notes /opt/collab-notes
RUN useradd --system --uid 1000 --user-group --home-dir /data --no-create-home collab \
    && mkdir -p /data && chown collab:collab /data

USER collab
WORKDIR /data
VOLUME ["/data"]
ENV PATH=/opt/collab-notes/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COLLAB_HOST=0.0.0.0 \
    COLLAB_PORT=8000 \
    COLLAB_DATABASE_URL=sqlite:////data/collab-notes.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('COLLAB_PORT', '8000'), timeout=2)"]
# SIGTERM (docker stop) closes connections with 1001, finishes pending writes, exits 0.
STOPSIGNAL SIGTERM
CMD ["collab-notes", "serve"]
