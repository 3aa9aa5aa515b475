# leadpipe image: `leadpipe worker` by default; also runs `leadpipe topics create` and
# `leadpipe gateway`. Configuration is environment only (LEADPIPE_*): see docs/production.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 leadpipe \
 && useradd --system --uid 10001 --gid leadpipe --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin leadpipe

# The source, schemas/ included, stays in /app: owned by root, read-only for the app user.
WORKDIR /app
COPY . /app

# rocksdict (faust-streaming's extra) backs LEADPIPE_STORE=rocksdb:// for large tables.
RUN pip install --no-cache-dir . "faust-streaming[rocksdict]"

# The wheel installs schemas/ under <prefix>/share/leadpipe/schemas. Prove, from outside the source
# tree, that the installed package loads them and that rocksdict imports, so a broken image fails
# here rather than at worker start-up.
RUN cd / && python -c "import rocksdict; from pipeline.codec import SchemaStore; SchemaStore()"

# Table store (RocksDB) and working directory: the only place the app user can write.
RUN mkdir -p /var/lib/leadpipe && chown leadpipe:leadpipe /var/lib/leadpipe
WORKDIR /var/lib/leadpipe

# Inside a container the web server must listen beyond loopback; publish it explicitly if needed.
ENV LEADPIPE_DATA_DIR=/var/lib/leadpipe \
    LEADPIPE_WEB_HOST=0.0.0.0

USER leadpipe:leadpipe
EXPOSE 6066
CMD ["leadpipe", "worker"]
