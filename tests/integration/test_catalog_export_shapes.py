"""A dealer's system export as it comes (abbreviated headers, coded values), onboarded through the API and searched
in the chat: "Año Mod.", "Precio Venta" with "289,900.00", "Trans." AUT/STD/CVT, "Comb." GAS/DSL/HIB, "Plaza"."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import chat, make_tenant

EXPORT = (
    "Clave,Marca,Modelo,Versión,Año Mod.,Precio Venta,Kms.,Trans.,Comb.,Carrocería,Color Ext.,Plaza\n"
    'G1,Kia,Rio,LX,2021,"249,900.00","41,000",STD,GAS,Sedán,Blanco,Zapopan\n'
    'G2,Kia,Rio,EX,2022,"289,900.00","30,500",AUT,GAS,Sedán,Rojo,Tlaquepaque\n'
    'G3,Nissan,Versa,Advance,2021,"259,000.00","38,000",CVT,GAS,Sedán,Gris,Zapopan\n'
    'G4,Toyota,Hilux,SR,2020,"529,000.00","62,000",STD,DSL,Pickup,Blanco,Tlajomulco\n'
    'G5,Toyota,Prius,Base,2019,"339,000.00","70,000",CVT,HIB,Hatchback,Plata,Zapopan\n'
)


async def test_an_export_with_abbreviated_headers_and_coded_values_is_searched(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=EXPORT)

    async def ask(text: str) -> dict[str, Any]:
        return await chat(client, tenant, text, f"u-{uuid.uuid4().hex[:8]}")

    automatic = await ask("busco un rio automatico")
    assert automatic["items"] == ["G2"]
    cvt = await ask("algo automático de menos de 300 mil")
    assert set(cvt["items"]) == {"G2", "G3"}  # CVT is automatic
    diesel = await ask("tienen trocas diesel?")
    assert diesel["items"] == ["G4"]
    hybrid = await ask("¿tienen híbridos?")
    assert hybrid["items"] == ["G5"]
    zapopan = await ask("¿qué tienen en Zapopan?")
    assert set(zapopan["items"]) == {"G1", "G3", "G5"} and "Zapopan" in zapopan["reply"].splitlines()[0]
    priced = await ask("cuanto cuesta el versa")
    assert "$259,000" in priced["reply"]


async def test_a_kind_refused_for_someone_else_and_an_hours_question_naming_a_branch(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=EXPORT)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "que onda, ocupo un kia de menos de 300 mil", user)
    automatic = await chat(client, tenant, "y automatico? es q mi esposa no maneja estandar", user)
    assert automatic["items"] == ["G2"]
    hours = await chat(client, tenant, "y zapopan abre el martes?", user)
    assert hours["agent"] == "info"  # the business's hours, not Zapopan's stock
