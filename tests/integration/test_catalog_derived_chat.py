"""A dealer whose CSV has no transmission, fuel or traction column but writes them in the version ("Advance CVT",
"Energy TM", "XLT Diesel 4x4"), through the chat API: searches filter on what the versions say, a question about
the car in focus is answered from its version, what no version says is still "not recorded", and a column the
dealer does have wins over its versions. Expectations come from the CSV text itself, never from replies."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import TenantHandle, chat, make_tenant

DEALER_CSV = """Folio,Marca,Modelo,Versión,Año,Precio,Kilometraje,Color,Sucursal
D-01,Nissan,Versa,Sense TM,2020,"$229,000","61,500",Plata,Querétaro
D-02,Nissan,Versa,Advance CVT,2022,"$289,900","33,100",Gris Oxford,León
D-03,Nissan,Versa,Exclusive CVT,2023,"$339,500","18,400",Azul,Querétaro
D-04,Ford,Figo,Energy TM,2019,"$169,900","70,900",Rojo,Celaya
D-05,Ford,Ranger,XLT Diesel 4x4,2021,"$629,000","54,300",Gris,León
D-06,Toyota,Hilux,Doble Cabina SR,2022,"$559,000","41,800",Blanco,Celaya
D-07,Volkswagen,Jetta,GLI DSG,2022,"$499,900","22,100",Negro,León
D-08,Volkswagen,Jetta,Trendline TM,2019,"$279,000","67,300",Blanco,Celaya
"""
# The same cars with a transmission column that contradicts two versions: the column is what the dealer records.
WITH_COLUMN_CSV = """stock_id,make,model,version,year,price,transmission
E-01,Nissan,Versa,Sense TM,2020,229000,Automática
E-02,Nissan,Versa,Advance CVT,2022,289900,Manual
"""


def _automatic(version: str) -> bool:
    return any(token in version.split() for token in ("CVT", "DSG", "TA"))


def _rows(csv: str) -> list[list[str]]:
    return [line.split(",") for line in csv.strip().splitlines()[1:]]


class Talk:
    """One customer of ``tenant`` through the chat API."""

    def __init__(self, client: Any, tenant: TenantHandle) -> None:
        self.client, self.tenant, self.user = client, tenant, f"drv-{uuid.uuid4().hex[:10]}"

    async def say(self, text: str) -> dict[str, Any]:
        return await chat(self.client, self.tenant, text, user=self.user)


async def test_the_versions_answer_for_a_dealer_without_those_columns(client: Any) -> None:
    dealer = await make_tenant(client, catalog_csv=DEALER_CSV)
    versas = {row[0]: row[3] for row in _rows(DEALER_CSV) if row[2] == "Versa"}
    talk = Talk(client, dealer)

    listed = await talk.say("tienen versa?")
    assert set(listed["items"]) == set(versas)
    automatic = await talk.say("y automaticos? no se manejar estandar")
    assert automatic["agent"] == "catalog"
    assert set(automatic["items"]) == {i for i, v in versas.items() if _automatic(v)}, automatic["reply"]
    assert "no registra" not in automatic["reply"]

    figo = Talk(client, dealer)
    await figo.say("cuanto cuesta el figo?")
    gearbox = await figo.say("ese es estandar o automatico?")
    assert gearbox["items"] == ["D-04"]
    assert "Transmisión: Manual" in gearbox["reply"], gearbox["reply"]

    diesel = await Talk(client, dealer).say("tienen alguna diesel?")
    assert diesel["items"] == ["D-05"], diesel["reply"]

    traction = await Talk(client, dealer).say("la ranger es 4x4?")
    assert traction["items"] == ["D-05"] and "no registra" not in traction["reply"]


async def test_what_no_version_says_is_still_not_recorded(client: Any) -> None:
    dealer = await make_tenant(client, catalog_csv=DEALER_CSV)
    reply = await Talk(client, dealer).say("¿tienen híbridos?")
    assert reply["agent"] == "catalog" and reply["items"] == []  # never a car the data cannot vouch for
    assert "combustible" in reply["reply"] and "asesor" in reply["reply"]


async def test_a_dealers_own_column_wins_over_its_versions(client: Any) -> None:
    dealer = await make_tenant(client, catalog_csv=WITH_COLUMN_CSV)
    automatic = await Talk(client, dealer).say("busco un versa automatico")
    assert automatic["items"] == ["E-01"], automatic["reply"]
    manual = await Talk(client, dealer).say("busco un versa estandar")
    assert manual["items"] == ["E-02"], manual["reply"]
