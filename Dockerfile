# collab-notes: the server with its notes on a volume.
#   docker build -t collab-notes .
#   docker run -p 8000:8000 -v collab-notes-data:/data collab-notes
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY collab ./collab
COPY storage ./storage
COPY web ./web
RUN pip install --no-cache-dir . \
    && useradd --system --uid 1000 --home /data collab \
    && mkdir -p /data && chown collab /data

USER collab
VOLUME ["/data"]
ENV COLLAB_HOST=0.0.0.0 \
    COLLAB_PORT=8000 \
    COLLAB_DATABASE_URL=sqlite:////data/collab-notes.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# SIGTERM (docker stop) finishes pending writes and closes connections with 1001.
STOPSIGNAL SIGTERM
CMD ["collab-notes", "serve"]
