"""An FAQ-style company text (P:/R: pairs, numbered lists with sub-bullets, an opening paragraph) through the
chat API: each question answered by its own pair, labels dropped, lists whole, the opening found."""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.text.normalize import fold
from tests.helpers import chat, import_company_text, make_tenant

FAQ = """Autos del Pacífico vende autos seminuevos en Sinaloa desde 1999. Somos una empresa familiar con tres \
sucursales y todas nuestras unidades tienen factura de origen.

## Sucursales y horarios

**P: ¿Dónde están sus sucursales?**
**R:** Contamos con tres sucursales:

1. **Culiacán** (matriz)
   - Dirección: Blvd. Emiliano Zapata 2100, Col. Centro, Culiacán, Sin.
   - Horario: lunes a sábado de 8:30 a 18:00; domingo de 10:00 a 13:00.
   - Aquí está el área de avalúos y el taller de preparación.
2. **Mazatlán**
   - Dirección: Av. del Mar 455, Col. Flamingos, Mazatlán, Sin.
   - Horario: martes a sábado de 9:30 a 19:30; domingo de 11:00 a 14:00.
   - **Cerrada los lunes.**
3. **Los Mochis**
   - Dirección: Blvd. Rosales 88 Pte., Col. Bienestar, Los Mochis, Sin.
   - Horario: lunes a viernes de 9:00 a 18:00; sábado de 9:00 a 13:00.
   - **Cerrada los domingos.**

**P: ¿Abren en días festivos?**
**R:** No, los días festivos oficiales las tres sucursales permanecen cerradas.

## Tu auto a cuenta

**P: ¿Aceptan mi auto a cuenta?**
**R:** Sí, lo tomamos a cuenta de cualquier unidad con estas condiciones:

- Modelo 2015 o más reciente.
- Factura a tu nombre y tenencias pagadas.
- Sin reporte de robo ni multas pendientes.

**P: ¿Cuánto dura el avalúo?**
**R:** Unos 40 minutos, es gratis y solo se hace en Culiacán.

## Garantía

**P: ¿Qué garantía tienen los autos?**
**R:** Seis meses o 8,000 km en motor y transmisión.

**P: ¿Hay garantía extendida?**
**R:** Sí, a 12 meses por $7,900 MXN.

**P: ¿Qué no cubre la garantía?**
**R:** Frenos, llantas, batería ni daños por accidente.
"""
LABELS = re.compile(r"\b[PR]:|\?:|\*\*")


def _clean(reply: str) -> None:
    assert not LABELS.search(reply), reply
    assert len(reply) <= 600, (len(reply), reply)
    assert not reply.rstrip().endswith(":"), reply  # a lead-in never ends a message without its items


async def test_a_faq_text_answers_each_question_with_its_own_pair(client: Any) -> None:
    tenant = await make_tenant(client, name="Autos del Pacífico")
    await import_company_text(client, tenant, FAQ)

    hours = await chat(client, tenant, "a q hora abren en mazatlan?")
    assert hours["agent"] == "info" and "martes a sábado de 9:30 a 19:30" in hours["reply"]
    assert "Cerrada los lunes" in hours["reply"] and "Blvd. Rosales" not in hours["reply"]
    _clean(hours["reply"])

    # The third item of the list is found and shown whole (it used to be cut after the second).
    mochis = await chat(client, tenant, "direccion de la sucursal de los mochis")
    assert "Blvd. Rosales 88 Pte." in mochis["reply"] and "sábado de 9:00 a 13:00" in mochis["reply"]
    _clean(mochis["reply"])

    # A list answer keeps its items; the other pairs of the section are not pasted after it.
    trade = await chat(client, tenant, "¿aceptan mi carro a cuenta?")
    assert "con estas condiciones:" in trade["reply"] and "Sin reporte de robo" in trade["reply"]
    _clean(trade["reply"])

    clutch = await chat(client, tenant, "¿la garantía cubre los frenos?")
    assert fold(clutch["reply"]).startswith("frenos, llantas") and "7,900" not in clutch["reply"]
    _clean(clutch["reply"])

    # The paragraph before the first heading answers questions about the business itself.
    since = await chat(client, tenant, "desde cuando tienen el negocio?")
    assert since["agent"] == "info" and "desde 1999" in since["reply"]


async def test_asking_about_every_branch_gets_each_ones_hours_and_yes_tells_the_rest(client: Any) -> None:
    tenant = await make_tenant(client, name="Autos del Pacífico")
    await import_company_text(client, tenant, FAQ)
    user = f"u-{uuid.uuid4().hex[:10]}"
    first = await chat(client, tenant, "¿a qué hora abren el sábado?", user=user)
    for line in ("*Culiacán* (matriz): Horario:", "*Mazatlán*: Horario:", "*Los Mochis*: Horario:"):
        assert line in first["reply"], first["reply"]
    assert "Dirección" not in first["reply"] and first["reply"].endswith("¿Quieres que te cuente más?")
    _clean(first["reply"])
    told = first["reply"]
    last = first["reply"]
    for _ in range(3):
        if not last.endswith("¿Quieres que te cuente más?"):
            break
        last = (await chat(client, tenant, "sí", user=user))["reply"]
        _clean(last)
        told += last
    assert "Av. del Mar 455" in told and "Blvd. Rosales 88 Pte." in told  # the details, every branch
