# WhatsApp sales, support and concierge agent. `just` lists the recipes.

set dotenv-load := true

venv := ".venv"
bin := venv + "/bin"

# List the recipes
default:
    @just --list

# Install Python and the project's dependencies into .venv (uv); a no-op while pyproject.toml and uv.lock are unchanged
install:
    #!/usr/bin/env bash
    set -euo pipefail
    # The stamp lives in .venv, so a new or deleted .venv installs again.
    stamp={{venv}}/.installed-from
    want="$(cat pyproject.toml uv.lock | cksum)"
    if [ -x {{bin}}/agentctl ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
    # --inexact keeps what `just install-local-embeddings` added; --locked stops on a stale uv.lock.
    uv sync --locked --inexact
    echo "$want" > "$stamp"

# Opt-in local embeddings (EMBEDDINGS_PROVIDER=local): sentence-transformers at the lock's versions; on Linux
# torch comes from PyTorch's CPU index (PyPI's Linux torch is a CUDA build of over 2 GB to download)
install-local-embeddings: install
    #!/usr/bin/env bash
    set -euo pipefail
    # --python: into the project's .venv even when UV_PYTHON or an active venv points elsewhere.
    python={{bin}}/python
    export_args=(--frozen --no-hashes --no-header --no-annotate --no-emit-project --no-dev --extra local-embeddings)
    if [ "$(uname -s)" = Linux ]; then
        torch="$(uv export "${export_args[@]}" | sed -n 's/^torch==\([^ ;]*\).*/\1/p')"
        uv pip install --python "$python" --index "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" "torch==${torch}"
        export_args+=(--prune torch)
    fi
    uv export "${export_args[@]}" > {{venv}}/local-embeddings.txt
    uv pip install --python "$python" -r {{venv}}/local-embeddings.txt

# Migrate, seed the demo tenant, serve the API (PORT, default 8000) with a worker; embedded PostgreSQL when DATABASE_URL is unset
up: install
    {{bin}}/agentctl up --port ${PORT:-8000}

# Run the test suite (real embedded PostgreSQL, fake Twilio)
test *args: install
    {{bin}}/python -m pytest {{args}}

# Talk to the demo dealer as a WhatsApp customer
chat tenant="demo": install
    #!/usr/bin/env bash
    set -euo pipefail
    # Migrate and seed only when the migrations, the demo data or the database changed since the last chat:
    # the stamp lives in DATA_DIR, so a new embedded database starts over (delete it to force a reseed).
    data="${DATA_DIR:-.data}"
    stamp="$data/.chat-ready"
    want="$( (echo "${DATABASE_URL:-embedded}"; cat migrations/versions/*.py app/demo/seed.py app/demo/data/*) | cksum)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        {{bin}}/agentctl migrate
        {{bin}}/agentctl seed
        mkdir -p "$data" && echo "$want" > "$stamp"
    fi
    {{bin}}/agentctl chat {{tenant}}

# Apply database migrations
migrate: install
    {{bin}}/agentctl migrate

# Lint: ruff and mypy --strict
lint: install
    {{bin}}/ruff check app agents tests
    {{bin}}/ruff format --check app agents tests
    {{bin}}/mypy app agents

# Format the code
fmt: install
    {{bin}}/ruff format app agents tests
    {{bin}}/ruff check --fix app agents tests

# Benchmarks: webhook ack and offline turns under 50 concurrent senders; LLM tier economy (fake model);
# per-process capacity (acks/s of one API process, turns/s of one worker; docs/scaling.md);
# catalog search over 50,000 cars; knowledge retrieval over 100,000 chunks; concierge time-to-shortlist;
# genuine webhook acks under a flood of unsigned 4.9 MB forms; the webhooks' grouped ingest, set-based against
# pipelined (a bench that misses a goal exits 1: '-' runs the rest)
bench: install
    -{{bin}}/python -m tests.bench.run
    -{{bin}}/python -m tests.bench.llm
    -{{bin}}/python -m tests.bench.catalog
    -{{bin}}/python -m tests.bench.retrieval
    -{{bin}}/python -m tests.bench.concierge
    -{{bin}}/python -m tests.bench.capacity
    -{{bin}}/python -m tests.bench.webhook_flood
    -{{bin}}/python -m tests.bench.group_ingest

# Benchmark only the LLM tier with a fake model (calls/turn, prompt tokens, cost per conversation; exits 1 on a missed goal)
bench-llm: install
    {{bin}}/python -m tests.bench.llm

# Evaluate retrieval quality (knowledge hit@1/hit@3/MRR, not-found rate, catalog precision@3) on labelled sets,
# then the multi-turn conversations on two dealers (pass rate per failure class, development and held-out)
eval: install
    {{bin}}/python -m tests.eval.run
    {{bin}}/python -m tests.eval.conversations

# Run the agentctl CLI
agentctl *args: install
    {{bin}}/agentctl {{args}}
