"""agentctl through typer's CliRunner, against the test database configured by conftest.

The commands run their own event loop (asyncio.run), so these tests are plain sync functions. Each
test gets a private database engine (``cli`` fixture): the process-wide one may already hold
connections of the async tests' loop, which must not be reused from the CLI's loop.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest

from app.demo.seed import DATA
from tests.helpers import new_number
from tests.integration.agentctl import Cli

CARS = pd.read_csv(io.BytesIO((DATA / "cars.csv").read_bytes()), dtype={"stock_id": str})
KNOWLEDGE_ENTRIES = len(json.loads((DATA / "knowledge.json").read_text(encoding="utf-8")))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CATALOG_CSV = """stock_id,make,model,year,price,km,version,transmission
C1,Mazda,3,2019,265000,48000,i Sport,Automática
C2,Nissan,Versa,2018,189999,61000,Advance,Manual
C3,Toyota,Corolla,2020,320000,35000,LE,Automática
"""


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli.ok("seed")  # idempotent: creates the demo tenant or refreshes it
    return cli


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on a plain sync connection (what the CLI wrote, seen from outside)."""
    from app.core.db import libpq_conninfo

    with psycopg.connect(libpq_conninfo()) as conn:
        return list(conn.execute(sql, params).fetchall())


def new_slug() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


def status(cli: Cli, slug: str) -> dict[str, str]:
    lines = cli.ok("tenant", "status", slug).splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


@pytest.fixture
def tenant(cli: Cli) -> str:
    slug = new_slug()
    out = cli.ok("tenant", "create", slug, "--name", "Autos CLI", "--number", new_number())
    assert f"created tenant {slug}" in out and UUID.search(out)
    return slug


# --------------------------------------------------------------------------- tenants


def test_tenant_create_list_and_status(cli: Cli, tenant: str) -> None:
    listing = cli.ok("tenant", "list")
    row = next(line for line in listing.splitlines() if tenant in line)
    assert "Autos CLI" in row and "whatsapp:+52" in row and "es-MX" in row

    facts = status(cli, tenant)
    assert facts["slug"] == tenant and facts["name"] == "Autos CLI"
    assert facts["flags"] == "{}" and facts["ai_agent"].startswith("off")
    assert facts["catalog_rows"] == "0" and facts["knowledge_entries"] == "0"
    assert facts["conversations_waiting_for_human"] == "0"


def test_tenant_create_rejects_duplicates_and_bad_slugs(cli: Cli, tenant: str) -> None:
    assert "already exists" in cli.fails("tenant", "create", tenant, "--name", "Again")
    assert "slug" in cli.fails("tenant", "create", "Not A Slug!", "--name", "Bad")


def test_tenant_enable_and_disable_set_the_ai_agent_flag(cli: Cli, tenant: str) -> None:
    assert "ai_agent = True" in cli.ok("tenant", "enable", tenant)
    facts = status(cli, tenant)
    assert facts["ai_agent"] == "on" and "'ai_agent': True" in facts["flags"]
    assert query("SELECT flags->>'ai_agent' FROM tenants WHERE slug = %s", tenant) == [("true",)]

    assert "ai_agent = False" in cli.ok("tenant", "disable", tenant)
    assert status(cli, tenant)["ai_agent"].startswith("off")
    assert query("SELECT flags->>'ai_agent' FROM tenants WHERE slug = %s", tenant) == [("false",)]


def test_unknown_tenant_is_a_clean_error(cli: Cli) -> None:
    missing = new_slug()
    for args in (
        ("tenant", "status", missing),
        ("tenant", "enable", missing),
        ("apikey", "create", missing),
        ("chat", missing, "-m", "hola"),
        ("conversation", "list", missing),
    ):
        assert f"tenant '{missing}' not found" in cli.fails(*args)


# --------------------------------------------------------------------------- keys


def test_apikey_create_prints_a_key_whose_hash_is_stored(cli: Cli, tenant: str) -> None:
    out = cli.ok("apikey", "create", tenant, "--name", "ci")
    assert f"API key for {tenant} (ci)" in out
    secret = out.strip().splitlines()[-1].strip()
    assert len(secret) > 30 and " " not in secret
    rows = query(
        "SELECT k.name, k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE t.slug = %s AND k.key_hash = %s",
        tenant,
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    assert rows == [("ci", None)]
    # Shown once, never stored in clear.
    assert query("SELECT count(*) FROM api_keys WHERE key_hash = %s OR prefix = %s", secret, secret) == [(0,)]


# --------------------------------------------------------------------------- catalog and knowledge


def test_catalog_import_and_a_bad_csv_changes_nothing(cli: Cli, tenant: str, tmp_path: Path) -> None:
    good = tmp_path / "cars.csv"
    good.write_text(CATALOG_CSV, encoding="utf-8")
    out = cli.ok("catalog", "import", tenant, str(good))
    assert "imported 3 rows (catalog version 1)" in out and "transmission" in out
    assert status(cli, tenant)["catalog_rows"] == "3"

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "stock_id,make,model,year,price,km\nD1,Kia,Rio,2020,199000,1000\nD2,Kia,Rio,2021,caro,2000\n",
        encoding="utf-8",
    )
    message = cli.fails("catalog", "import", tenant, str(bad))
    assert "Row 3" in message and "price" in message
    # Atomic: the previous catalog is intact.
    assert status(cli, tenant)["catalog_rows"] == "3"
    stock = query(
        "SELECT c.stock_id FROM catalog_items c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = %s "
        "ORDER BY c.stock_id",
        tenant,
    )
    assert stock == [("C1",), ("C2",), ("C3",)]

    missing_column = tmp_path / "no_price.csv"
    missing_column.write_text("stock_id,make,model,year\nE1,Kia,Rio,2020\n", encoding="utf-8")
    assert "price" in cli.fails("catalog", "import", tenant, str(missing_column))


def _totals(output: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"'(created|updated|unchanged)': (\d+)", output)}


def test_knowledge_import_json_csv_markdown_is_idempotent(cli: Cli, tenant: str, tmp_path: Path) -> None:
    as_json = tmp_path / "faq.json"
    as_json.write_text(
        json.dumps(
            [
                {"title": "Garantía", "content": "Seis meses o 10,000 km en motor y transmisión.", "category": "w"},
                {"title": "Warranty", "content": "Six months or 10,000 km on engine and gearbox.", "language": "en"},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    as_csv = tmp_path / "faq.csv"
    as_csv.write_text(
        "question,answer\n¿Aceptan tarjeta?,Sí: débito y crédito sin comisión.\n"
        "¿Tienen estacionamiento?,Sí: gratuito para clientes.\n",
        encoding="utf-8",
    )
    as_md = tmp_path / "sucursales.md"
    as_md.write_text(
        "# Sucursales\n## Centro\nAv. Juárez 100, CDMX.\n## Norte\nAv. Universidad 2500, Monterrey.\n", encoding="utf-8"
    )

    first = _totals(cli.ok("knowledge", "import", tenant, str(as_json), str(as_csv), str(as_md)))
    assert first == {"created": 6, "updated": 0, "unchanged": 0}
    assert status(cli, tenant)["knowledge_entries"] == "6"
    titles = {
        r[0]
        for r in query(
            "SELECT k.title FROM knowledge_entries k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = %s", tenant
        )
    }
    assert titles == {
        "Garantía",
        "Warranty",
        "¿Aceptan tarjeta?",
        "¿Tienen estacionamiento?",
        "Sucursales / Centro",
        "Sucursales / Norte",
    }

    again = _totals(cli.ok("knowledge", "import", tenant, str(as_md), str(as_csv), str(as_json)))
    assert again == {"created": 0, "updated": 0, "unchanged": 6}
    assert status(cli, tenant)["knowledge_entries"] == "6"

    as_md.write_text(
        "# Sucursales\n## Centro\nAv. Juárez 120, CDMX.\n## Norte\nAv. Universidad 2500, Monterrey.\n", encoding="utf-8"
    )
    assert _totals(cli.ok("knowledge", "import", tenant, str(as_md))) == {"created": 0, "updated": 1, "unchanged": 1}

    # What was imported is what the agent answers with.
    line = cli.ok(
        "chat", tenant, "--user", f"cli-{uuid.uuid4().hex[:8]}", "-m", "¿dónde está la sucursal del centro?", "--json"
    )
    assert "Av. Juárez 120" in json.loads(line.strip().splitlines()[-1])["reply"]


def test_knowledge_import_of_a_bad_file_is_a_clean_error(cli: Cli, tenant: str, tmp_path: Path) -> None:
    bad = tmp_path / "faq.csv"
    bad.write_text("pregunta,respuesta\nhola,adiós\n", encoding="utf-8")
    assert "question,answer" in cli.fails("knowledge", "import", tenant, str(bad))
    empty_answer = tmp_path / "empty.csv"
    empty_answer.write_text("question,answer\n¿Horario?,\n", encoding="utf-8")
    assert "row 2" in cli.fails("knowledge", "import", tenant, str(empty_answer))
    assert status(cli, tenant)["knowledge_entries"] == "0"


def test_knowledge_entries_one_by_one(cli: Cli, tenant: str) -> None:
    added = cli.ok(
        "knowledge", "add", tenant, "--title", "Garantía", "--content", "Seis meses en motor.", "--type", "policy"
    )
    entry_id = UUID.search(added).group(0)  # type: ignore[union-attr]
    assert "version 1" in added
    assert "already exists" in cli.fails("knowledge", "add", tenant, "--title", "Garantía", "--content", "Otra.")
    assert "version 2" in cli.ok("knowledge", "update", tenant, entry_id, "--content", "Doce meses en motor.")
    assert "version 2" in cli.ok("knowledge", "update", tenant, entry_id, "--priority", "5")
    assert "Doce meses" in cli.ok("knowledge", "show", tenant, entry_id)
    assert "Garantía" in cli.ok("knowledge", "list", tenant, "--type", "policy")
    assert "Garantía" in cli.ok("knowledge", "search", tenant, "garantia")
    cli.ok("knowledge", "delete", tenant, entry_id)
    assert "would offer a person" in cli.ok("knowledge", "search", tenant, "garantia")
    assert "not found" in cli.fails("knowledge", "show", tenant, entry_id).lower()
    assert cli.invoke("knowledge", "show", tenant, "not-an-id").exit_code == 2
    assert cli.invoke("conversation", "release", tenant, "not-an-id").exit_code == 2


# --------------------------------------------------------------------------- chat and conversations


def test_seed_is_idempotent(seeded: Cli) -> None:
    out = seeded.ok("seed")
    assert "'created': False" in out and "'catalog_rows_loaded': 0" in out
    assert f"'unchanged': {KNOWLEDGE_ENTRIES}" in out
    facts = status(seeded, "demo")
    assert facts["catalog_rows"] == str(len(CARS)) and facts["knowledge_entries"] == str(KNOWLEDGE_ENTRIES)


def test_chat_prints_json_lines(seeded: Cli) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    out = seeded.ok("chat", "demo", "--user", user, "-m", "hola", "-m", "¿tienen Mazda?", "--json")
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert len(lines) == 2
    assert lines[0]["agent"] == "smalltalk" and lines[0]["intent"] == "greeting" and lines[0]["items"] == []
    assert "Valeria" in lines[0]["reply"]
    assert lines[1]["agent"] == "catalog" and lines[1]["intent"] == "catalog"
    mazdas = set(CARS.loc[CARS["make"] == "Mazda", "stock_id"])
    assert lines[1]["items"] and set(lines[1]["items"]) <= mazdas
    assert all(f"({stock_id})" in lines[1]["reply"] for stock_id in lines[1]["items"])
    assert all(isinstance(line["latency_ms"], int) for line in lines)


def test_chat_without_json_prints_the_reply(seeded: Cli) -> None:
    out = seeded.ok("chat", "demo", "--user", f"cli-{uuid.uuid4().hex[:8]}", "-m", "¿cuál es su horario?")
    assert "demo> Tenemos dos sucursales" in out and "agent=info" in out and "tier=offline" in out


def test_conversation_list_and_release(cli: Cli, tenant: str) -> None:
    user = f"whatsapp:+5215{uuid.uuid4().int % 10**9:09d}"
    handoff = json.loads(cli.ok("chat", tenant, "--user", user, "-m", "quiero hablar con un asesor", "--json"))
    assert handoff["agent"] == "handoff"
    silent = json.loads(cli.ok("chat", tenant, "--user", user, "-m", "¿hola?", "--json"))
    assert silent == {**silent, "reply": "", "agent": "handoff", "intent": "handoff_active"}
    assert status(cli, tenant)["conversations_waiting_for_human"] == "1"

    waiting = cli.ok("conversation", "list", tenant, "--status", "handoff")
    row = next(line for line in waiting.splitlines() if user.removeprefix("whatsapp:") in line)
    assert "handoff" in row
    match = UUID.search(row)
    assert match is not None
    conversation_id = match.group(0)
    assert conversation_id in cli.ok("conversation", "list", tenant)

    assert f"conversation {conversation_id} released" in cli.ok("conversation", "release", tenant, conversation_id)
    assert user.removeprefix("whatsapp:") not in cli.ok("conversation", "list", tenant, "--status", "handoff")
    assert status(cli, tenant)["conversations_waiting_for_human"] == "0"
    back = json.loads(cli.ok("chat", tenant, "--user", user, "-m", "hola", "--json"))
    assert back["agent"] == "smalltalk" and back["reply"]


def test_conversation_release_of_an_unknown_id_is_a_clean_error(cli: Cli, tenant: str) -> None:
    assert "not found" in cli.fails("conversation", "release", tenant, str(uuid.uuid4())).lower()


def test_conversation_history_shows_the_windowed_transcript(seeded: Cli) -> None:
    user = f"+52155{uuid.uuid4().int % 10**8:08d}"
    for text in ("hola", "¿tienen Mazda?", "gracias"):
        assert seeded.invoke("chat", "demo", "--user", user, "-m", text).exit_code == 0
    full = seeded.invoke("conversation", "history", "demo", f"whatsapp:{user}")
    assert full.exit_code == 0
    assert [line for line in full.output.splitlines() if line.startswith("customer>")] == [
        "customer> hola",
        "customer> ¿tienen Mazda?",
        "customer> gracias",
    ]
    last_two = seeded.invoke("conversation", "history", "demo", user, "--window", "2")
    lines = [line for line in last_two.output.splitlines() if line.startswith(("customer>", "agent>"))]
    assert lines[0] == "customer> gracias" and lines[1].startswith("agent>") and len(lines) == 2


def test_status_shows_what_answers_the_provider_keys_and_the_model_chains(cli: Cli, tenant: str) -> None:
    from app.core.config import Settings
    from app.llm.providers import ProviderRegistry, set_registry

    # No provider configured: enabling warns, and the offline tier keeps answering.
    set_registry(ProviderRegistry.from_settings(Settings(openai_api_key=None, google_api_key=None)))
    try:
        out = cli.ok("tenant", "enable", tenant)
        assert "No LLM provider is configured" in out
        facts = status(cli, tenant)
        assert facts["answers_with"] == "offline tier (no LLM provider configured)"
        assert "openai: no key" in facts["providers"] and "gemini: no key" in facts["providers"]
        # OpenAI and Gemini keys: chains across both providers, in the table's order per tier.
        keys = Settings(openai_api_key="sk-test", google_api_key="g-test", together_api_key=None)
        set_registry(ProviderRegistry.from_settings(keys))
        facts = status(cli, tenant)
        assert facts["ai_agent"] == "on" and facts["answers_with"].startswith("LLM tiers")
        assert "openai: key set" in facts["providers"] and "together: no key" in facts["providers"]
        assert facts["chain_simple"].startswith("gpt-4o-mini → gemini-2.5-flash-lite → gpt-4.1-mini")
        assert facts["chain_complex"].startswith("gpt-4.1 → gemini-2.5-pro")
        assert "sk-test" not in cli.ok("tenant", "status", tenant)
        cli.ok("tenant", "disable", tenant)
        assert status(cli, tenant)["answers_with"] == "offline tier (AI agent off)"
    finally:
        set_registry(None)


def test_out_of_range_arguments_are_usage_errors_not_tracebacks(cli: Cli, tenant: str, tmp_path: Path) -> None:
    """Each of these printed a Python traceback (or, for the port, silently served on 99999 mod 65536)."""
    huge = "9" * 20
    usage_errors = [
        ("usage", "purge", "--days", huge),
        ("feedback", "correct", tenant, "--answer", "x", "--turn", huge),
        ("conversation", "history", tenant, "x", "--window", "-3"),
        ("conversation", "history", tenant, "x", "--window", huge),
        ("worker", "--concurrency", "0"),
        ("worker", "--concurrency", "-1"),
        ("serve", "--port", "99999"),
        ("healthcheck", "api", "--timeout", huge),
        ("healthcheck", "worker", "--max-age", huge),
        ("killswitch", "on", "--reason", "r" * 501),
        ("apikey", "create", tenant, "--name", "n" * 101),
    ]
    for args in usage_errors:
        result = cli.invoke(*args)
        assert result.exit_code == 2, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output, args
    assert "kill switch: off" in cli.ok("killswitch", "status")
    assert query("SELECT count(*) FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = %s", tenant) == [
        (0,)
    ]
    latin1 = tmp_path / "faq.md"
    latin1.write_bytes("# Garantía\n\nSeis meses.".encode("latin-1"))
    assert "not UTF-8" in cli.fails("knowledge", "import", tenant, str(latin1))
    assert "LANGSMITH_API_KEY" in cli.fails("eval", "export", tenant)
    # A variant JSON can spell a NUL or half a surrogate pair, which JSONB cannot store: a clean refusal.
    for variant in ('{"agent_name": "Luz\\u0000"}', '{"agent_name": "Luz\\ud800"}'):
        refused = cli.fails("experiment", "start", tenant, "--name", "n", "--variant", variant)
        assert "variant" in refused and "agent_name" in refused, refused  # where, not only that


def test_serve_passes_the_trusted_proxies_to_uvicorn(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """FORWARDED_ALLOW_IPS decides whose X-Forwarded-For is the client's address (the console's sign-in limit)."""
    import uvicorn

    from app.core.config import get_settings

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    get_settings.cache_clear()
    try:
        cli.ok("serve", "--port", "18999")
    finally:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS")
        get_settings.cache_clear()
    assert seen["forwarded_allow_ips"] == "10.0.0.0/8" and seen["port"] == 18999
