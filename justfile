# WhatsApp sales, support and concierge agent. `just` lists the recipes.

set dotenv-load := true

venv := ".venv"
bin := venv + "/bin"

# List the recipes
default:
    @just --list

# Install Python and the project's dependencies into .venv (uv), with the local embeddings extra (CPU torch)
install:
    uv sync --frozen --extra local-embeddings 2>/dev/null || uv sync --extra local-embeddings

# Migrate, seed the demo tenant, serve the API (PORT, default 8000) with a worker; embedded PostgreSQL when DATABASE_URL is unset
up: install
    {{bin}}/agentctl up --port ${PORT:-8000}

# Run the test suite (real embedded PostgreSQL, fake Twilio)
test *args: install
    {{bin}}/python -m pytest {{args}}

# Talk to the demo dealer as a WhatsApp customer
chat tenant="demo": install
    {{bin}}/agentctl migrate
    {{bin}}/agentctl seed
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
# catalog search over 50,000 cars; knowledge retrieval over 100,000 chunks; concierge time-to-shortlist
bench: install
    {{bin}}/python -m tests.bench.run
    {{bin}}/python -m tests.bench.llm
    {{bin}}/python -m tests.bench.catalog
    {{bin}}/python -m tests.bench.retrieval
    {{bin}}/python -m tests.bench.concierge

# Benchmark only the LLM tier (calls per turn, prompt tokens, routing overhead) with a fake model
bench-llm: install
    {{bin}}/python -m tests.bench.llm

# Evaluate retrieval quality (knowledge hit@1/hit@3/MRR, not-found rate, catalog precision@3) on labelled sets
eval: install
    {{bin}}/python -m tests.eval.run

# Run the agentctl CLI
agentctl *args: install
    {{bin}}/agentctl {{args}}
