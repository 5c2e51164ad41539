# syntax=docker/dockerfile:1
# The service image: gunicorn + uvicorn workers behind `ecommerce serve`, which applies
# the migrations (under a PostgreSQL advisory lock, so replicas may start together)
# before the workers fork. Build: docker build -t ecommerce .

ARG PYTHON_VERSION=3.12

# --- build: install the package and its runtime dependencies (no dev extras) in a venv
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ecommerce ./ecommerce
RUN pip install --no-cache-dir .

# --- runtime: the venv, the migrations, a user without privileges
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ECOMMERCE_ENVIRONMENT=production \
    ECOMMERCE_BIND=0.0.0.0:8000 \
    ECOMMERCE_LOG_JSON=true
RUN groupadd --system --gid 10001 ecommerce \
    && useradd --system --uid 10001 --gid ecommerce --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin ecommerce
COPY --from=build /opt/venv /opt/venv
# The launcher finds alembic.ini and migrations/ in the working directory.
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8000
# Liveness only (the process serves); the database's state is /health/ready's business.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('ECOMMERCE_BIND', '').rpartition(':')[2] or '8000'; urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4)"]
ENTRYPOINT ["ecommerce"]
CMD ["serve"]
