"""Units under tests/integration/test_field_data_shapes.py: status words, coded kinds, WhatsApp markup, opt-out
and turned-down calls in the customer's words."""

from __future__ import annotations

import pytest

from app.catalog.availability import reserved, status_column, status_of
from app.catalog.derived import expand_codes
from app.knowledge.plaintext import to_markdown
from app.messaging.optout import read_opt_out
from app.text.answers import declines_contact


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Vendido", "sold"),
        ("SOLD", "sold"),
        ("No disponible", "sold"),
        ("Apartado", "reserved"),
        ("On hold", "reserved"),
        ("Disponible", "available"),
        ("Jalisco", None),
        ("", None),
        (None, None),
    ],
)
def test_status_words(value: object, expected: str | None) -> None:
    assert status_of(value) == expected


def test_a_status_column_is_known_by_name_and_values() -> None:
    rows = [{"attributes": {"Estatus": v, "Estado": s}} for v, s in (("Vendido", "Jalisco"), ("Disponible", "Yucatán"))]
    assert status_column(rows) == "Estatus"  # "Estado" holds states, not statuses
    assert status_column([{"attributes": {"Color": "Rojo"}}]) is None
    assert reserved({"Status": "Reserved"}) and not reserved({"Notas": "Apartado"})


def test_codes_become_words_only_under_a_column_of_their_kind_and_only_when_all_are_codes() -> None:
    assert expand_codes("Comb", ["G", "D", None, "H", "E"]) == ["Gasolina", "Diésel", None, "Híbrido", "Eléctrico"]
    assert expand_codes("Transmisión", ["A", "M"]) == ["Automática", "Manual"]
    assert expand_codes("Comb", ["G", "Gas LP natural"]) == ["G", "Gas LP natural"]
    assert expand_codes("Color", ["D", "G"]) == ["D", "G"]


def test_whatsapp_markup_becomes_sections_bold_lines_and_questions() -> None:
    text = (
        "🚗 *AUTOS DEL GOLFO* 🚗\nBienvenido.\n\n━━━━━━\n📍 *SUCURSALES*\n━━━━━━\n▪️ *Mérida*: Calle 50.\n\n"
        "━━━━━━\n❓ *PREGUNTAS FRECUENTES*\n━━━━━━\n*1. ¿Cómo aparto?*\nCon $5,000.\n\n"
        "*2. ¿Dan crédito?*\nSí, con *30%* de enganche.\n"
    )
    md = to_markdown(text)
    assert "# AUTOS DEL GOLFO" in md and "## Sucursales" in md and "## Preguntas frecuentes" in md
    assert "**1. ¿Cómo aparto?**" in md and "con **30%** de enganche" in md and "━" not in md
    assert "- **Mérida**: Calle 50." in md
    plain = "Horarios\n\nAbrimos de 9 a 7. 2 * 3 * 4 no es bold."
    assert to_markdown(plain).endswith("2 * 3 * 4 no es bold.")


@pytest.mark.parametrize(
    "text", ["dame de baja", "quiero darme de baja porfa", "sáquenme de su lista", "take me off your list"]
)
def test_unsubscribe_in_the_customers_words(text: str) -> None:
    found = read_opt_out(text)
    assert found is not None and found.action == "stop"


@pytest.mark.parametrize("text", ["la baja de precio?", "un motor de baja cilindrada"])
def test_other_uses_of_baja_are_no_opt_out(text: str) -> None:
    assert read_opt_out(text) is None


@pytest.mark.parametrize(
    ("text", "declines"),
    [
        ("no me marquen porfa, solo por whats", True),
        ("no quiero q me llame nadie", True),
        ("I don't want anyone to call me", True),
        ("que me llame alguien", False),
        ("márquenme al 5512345678", False),
        ("no me han llamado, quiero que me llamen", False),
    ],
)
def test_turned_down_calls(text: str, declines: bool) -> None:
    assert declines_contact(text) is declines
