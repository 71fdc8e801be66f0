"""Company texts pasted from Word (no Markdown): split at their title lines, lists and tables kept readable."""

from __future__ import annotations

from pathlib import Path

from app.knowledge.chunking import chunk_entry
from app.knowledge.files import read_knowledge_file
from app.knowledge.plaintext import to_markdown
from app.knowledge.service import parse_markdown

WORD_TEXT = """MUEBLERÍA LA PAZ
INFORMACIÓN PARA CLIENTES

Somos una mueblería familiar de Morelia con 20 años de experiencia en salas, comedores y recámaras.

SUCURSALES Y HORARIOS

SUCURSAL\tLUNES A VIERNES\tSÁBADO\tDOMINGO
Centro\t10:00 a 20:00\t10:00 a 18:00\tCERRADO
Altozano    11:00 a 21:00    11:00 a 21:00    11:00 a 17:00

En días festivos las dos sucursales cierran.

ENVÍOS

Enviamos sin costo dentro de Morelia. A Pátzcuaro y Uruapan el envío cuesta $450 pesos. No enviamos fuera \
de Michoacán.

Garantía:

Todos los muebles tienen garantía de 1 año contra defectos de fabricación.

CRÉDITO

Vendemos a crédito con pagos semanales o quincenales, a plazos de 6, 12 y 18 meses, sin enganche en compras \
mayores a $8,000 pesos. La tasa es fija y se informa al firmar el contrato. Puedes adelantar pagos cuando \
quieras sin ninguna penalización y sin cargos extra. Revisamos cada solicitud en la sucursal el mismo día, \
con un asesor que te explica todas las condiciones del contrato antes de firmar. Si ya eres cliente y \
pagaste puntual tu crédito anterior, tu nueva solicitud se aprueba al momento y puedes llevarte tus \
muebles ese mismo día, con entrega a domicilio incluida dentro de la ciudad.

Documentos para el crédito:
1.- Identificación oficial vigente (INE o pasaporte).
2.- Comprobante de domicilio de no más de 3 meses.
3.- Comprobante de ingresos de los últimos 2 meses, o estados de cuenta si trabajas por tu cuenta.
4.- Dos referencias personales con nombre y teléfono.
5.- Si trabajas por tu cuenta, 1 año mínimo con tu negocio.
La aprobación tarda 24 horas.
"""


def _entries() -> dict[str, str]:
    return {e.title: e.content for e in parse_markdown(WORD_TEXT)}


def test_a_word_text_is_split_at_its_title_lines() -> None:
    titles = list(_entries())
    assert titles[0] == "MUEBLERÍA LA PAZ — Información para clientes"  # the opening, titled by the document
    sections = [t.split(" / ", 1)[1] for t in titles[1:]]
    assert sections == ["Sucursales y horarios", "Envíos", "Garantía", "Crédito"]
    entries = _entries()
    assert "20 años" in entries[titles[0]] and "ENVÍOS" not in entries[titles[1]]
    assert "$450" in entries[titles[2]] and "CRÉDITO" not in entries[titles[2]]


def test_the_opening_is_the_company_entry() -> None:
    first = parse_markdown(WORD_TEXT)[0]
    assert first.type == "company" and "mueblería familiar" in first.content


def test_a_table_becomes_one_readable_line_per_row() -> None:
    hours = _entries()["MUEBLERÍA LA PAZ — Información para clientes / Sucursales y horarios"]
    assert "\t" not in hours and "  " not in hours
    assert "- Centro: lunes a viernes 10:00–20:00; sábado 10:00–18:00; domingo cerrado" in hours
    assert "- Altozano: lunes a viernes 11:00–21:00; sábado 11:00–21:00; domingo 11:00–17:00" in hours
    assert "SUCURSAL" not in hours  # the header names the values instead of being a row


def test_word_numbering_becomes_list_items_that_never_start_a_chunk_without_their_lead_in() -> None:
    title = "MUEBLERÍA LA PAZ — Información para clientes / Crédito"
    credit = _entries()[title]
    assert "1. Identificación oficial" in credit and ".-" not in credit
    chunks = chunk_entry(title, credit)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert not chunk.content.lstrip()[:1].isdigit(), chunk.content  # no chunk opens mid-list
    listing = next(c.content for c in chunks if "Dos referencias" in c.content)
    assert listing.startswith("Documentos para el crédito:") and "1. Identificación" in listing
    # The paragraph after the list is its own block, not the last item's continuation.
    assert "\n\nLa aprobación tarda 24 horas." in credit


def test_sentences_and_inline_labels_are_not_titles() -> None:
    text = (
        "NUESTRA EMPRESA\n\nVendemos llantas desde 1990.\n\nGracias por su preferencia.\n\n"
        "Nota: los precios incluyen IVA.\n\nEl envío es gratis en la ciudad y cuesta $200 fuera de ella."
    )
    converted = to_markdown(text)
    assert converted.count("#") == 1 and "# NUESTRA EMPRESA" in converted
    assert "Gracias por su preferencia." in converted and "Nota: los precios" in converted


def test_all_caps_lines_in_the_body_that_are_no_titles_stay_text() -> None:
    text = (
        "FORMAS DE PAGO\n\nAceptamos tarjetas de estos bancos:\nBBVA\nBANAMEX\nSANTANDER\n\n"
        "NO ACEPTAMOS CHEQUES PERSONALES.\n\nEl pago en efectivo es hasta $50,000."
    )
    converted = to_markdown(text)
    assert converted.count("#") == 1 and "# FORMAS DE PAGO" in converted
    for line in ("BBVA", "BANAMEX", "SANTANDER", "NO ACEPTAMOS CHEQUES PERSONALES."):
        assert f"\n{line}\n" in converted
    assert "BBVA" in parse_markdown(text)[0].content  # nothing is lost


def test_markdown_texts_are_left_as_they_are() -> None:
    markdown = "# Autos\n\nIntro.\n\nHORARIOS\n\nPLAZA\tHORA\nCentro\t9:00 a 18:00\n\n## Crédito\n\n1.- Uno\n"
    assert to_markdown(markdown) == markdown
    assert [e.title for e in parse_markdown(markdown)] == ["Autos", "Autos / Crédito"]


def test_a_text_without_any_title_stays_one_entry() -> None:
    entries = parse_markdown("Vendemos llantas nuevas y usadas en Toluca.\nAbrimos de lunes a sábado.")
    assert len(entries) == 1 and entries[0].title == "Información general"


def test_a_txt_file_is_read_as_a_company_text(tmp_path: Path) -> None:
    path = tmp_path / "empresa.txt"
    path.write_text(WORD_TEXT, encoding="utf-8")
    titles = [e.title for e in read_knowledge_file(path)]
    assert titles == [e.title for e in parse_markdown(WORD_TEXT)] and len(titles) == 5
