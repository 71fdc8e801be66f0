"""What a car's version does not say is "not recorded", never "no": through the chat API, a dealer whose CSV has
no fuel or traction column, asked about a car whose version is silent ("¿la Lobo es 4x4?", "cuánto cuesta la
Hilux" after "diésel")."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import chat, make_tenant

DEALER_CSV = """Folio,Marca,Modelo,Versión,Año,Precio,Kilometraje,Color
N-01,Chevrolet,Silverado,1500 LT Cabina Doble 4x4,2019,589900,95000,Gris
N-02,Ford,Lobo,Lariat Doble Cabina,2018,619900,98000,Negro
N-03,Ford,Ranger,XLT Diesel 4x4,2021,629000,54300,Gris
N-04,Toyota,Hilux,Doble Cabina SR,2022,559000,41800,Blanco
"""


async def test_a_car_whose_version_is_silent_is_not_recorded_never_no(client: Any) -> None:
    dealer = await make_tenant(client, catalog_csv=DEALER_CSV)
    user = f"uns-{uuid.uuid4().hex[:10]}"
    silverado = await chat(client, dealer, "la silverado q tienen es 4x4?", user=user)
    assert silverado["items"] == ["N-01"] and "no registra" not in silverado["reply"]
    lobo = await chat(client, dealer, "y la lobo? esa tambien es 4x4 o 4x2", user=user)
    assert lobo["items"] == ["N-02"], lobo["reply"]
    assert "no registra la tracción" in lobo["reply"]

    other = f"uns-{uuid.uuid4().hex[:10]}"
    diesel = await chat(client, dealer, "busco algo diesel", user=other)
    assert diesel["items"] == ["N-03"], diesel["reply"]
    hilux = await chat(client, dealer, "bueno cuanto cuesta la hilux 2022", user=other)
    assert hilux["items"] == ["N-04"], hilux["reply"]
    assert "no registra el tipo de combustible" in hilux["reply"] and "$559,000" in hilux["reply"]
