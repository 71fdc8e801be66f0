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

# Dependencies first, so code changes do not reinstall them. No torch by default (EMBEDDINGS_PROVIDER none,
# openai or gemini); --build-arg LOCAL_EMBEDDINGS=true adds the local-embeddings extra at the lock's
# versions with CPU torch from PyTorch's index (about 1 GB more), as `just install-local-embeddings` does.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
ARG LOCAL_EMBEDDINGS=false
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "$LOCAL_EMBEDDINGS" = "true" ]; then \
        export VIRTUAL_ENV=/app/.venv \
        && set -- --frozen --no-hashes --no-header --no-annotate --no-emit-project --no-dev --extra local-embeddings \
        && torch="$(uv export "$@" | sed -n 's/^torch==\([^ ;]*\).*/\1/p')" \
        && uv pip install --index "$TORCH_INDEX_URL" "torch==$torch" \
        && uv export "$@" --prune torch > /tmp/local-embeddings.txt \
        && uv pip install -r /tmp/local-embeddings.txt; \
    fi

# The project itself, installed editable: alembic.ini and migrations/ are found next to app/.
COPY README.md alembic.ini ./
COPY app ./app
COPY agents ./agents
COPY prompts ./prompts
COPY migrations ./migrations
# --inexact: keep the local embeddings installed above.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --inexact \
    && mkdir -p /app/.data && chown agent:agent /app/.data

ENV PATH=/app/.venv/bin:$PATH
USER agent
EXPOSE 8000

CMD ["agentctl", "serve", "--host", "0.0.0.0"]
