# orderbridge daemon: a small non-root image. Mount the config at /config/orderbridge.yaml and keep
# the SQLite database (or point store.url at PostgreSQL) under /data. ORDERBRIDGE_STORE is what the
# example configuration's `store.url: ${ORDERBRIDGE_STORE:-...}` reads.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ORDERBRIDGE_STORE=sqlite:////data/orderbridge.db
RUN useradd --create-home --uid 10001 orderbridge && mkdir -p /config /data && chown orderbridge /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY orderbridge ./orderbridge
RUN pip install ".[postgres]" && rm -rf /src

USER orderbridge
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
ENTRYPOINT ["orderbridge"]
CMD ["run", "-c", "/config/orderbridge.yaml"]
