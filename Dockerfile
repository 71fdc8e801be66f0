# syntax=docker/dockerfile:1
# The API, the worker and agentctl in one image; docker-compose.yml picks the command per service.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    DATA_DIR=/app/.data

# Tesseract with Spanish and English data reads customers' photos (concierge OCR).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv>=0.13,<0.14" \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/agent agent

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. The image uses EMBEDDINGS_PROVIDER none,
# openai or gemini; the local-embeddings extra (CPU torch) is for machines that carry its wheel.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# The project itself, installed editable: alembic.ini and migrations/ are found next to app/.
COPY README.md alembic.ini ./
COPY app ./app
COPY agents ./agents
COPY prompts ./prompts
COPY migrations ./migrations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && mkdir -p /app/.data && chown agent:agent /app/.data

ENV PATH=/app/.venv/bin:$PATH
USER agent
EXPOSE 8000

CMD ["agentctl", "serve", "--host", "0.0.0.0"]
