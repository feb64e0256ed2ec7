# Production image: built front-end assets plus the Python app. Used by compose.yaml.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend ./frontend
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9 && useradd --create-home --uid 1000 app
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY templates ./templates
COPY migrations ./migrations
COPY alembic.ini ./
COPY --from=assets /src/static/build ./static/build
ENV PATH=/opt/venv/bin:$PATH DATA_DIR=/data APP_ENV=production
RUN mkdir -p /data && chown app /data
USER app
EXPOSE 8000
CMD ["sh", "-c", "python -m app.cli setup --no-demo && python -m app.cli serve --host 0.0.0.0"]
