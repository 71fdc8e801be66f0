"""Finance endpoints of a tenant."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from app.catalog.search import card_by_id
from app.catalog.service import load_catalog
from app.core.errors import InvalidInput, NotFound
from app.deps import SessionDep, TenantDep
from app.finance.schemas import AmortizationRowRead, FinanceQuoteCreate, FinanceQuoteRead, QuoteRead
from app.finance.service import FinanceError, amortization_schedule, quote_all_terms, quote_financing, quote_request
from app.tenants.service import finance_settings

router = APIRouter(prefix="/v1/tenants/{slug}/finance", tags=["finance"])


@router.post("/quote", response_model=FinanceQuoteRead, response_model_exclude_none=True)
async def quote(body: FinanceQuoteCreate, tenant: TenantDep, session: SessionDep) -> FinanceQuoteRead:
    """Quote a price or a catalog car (its catalog price) with the tenant's rate, terms and minimum down payment.

    404 for an unknown `stock_id`; 422 (code `term_not_offered`, `down_payment_too_low`, ...) when the
    request breaks the tenant's terms, with the allowed terms and minimum down payment in `details`.
    """
    price = body.price
    if body.stock_id is not None:
        catalog = await load_catalog(session, tenant_id=tenant.id)
        card = card_by_id(catalog.frame, body.stock_id)
        if card is None:
            raise NotFound(f"No car with stock id {body.stock_id!r}", details={"stock_id": body.stock_id})
        price = Decimal(str(card.price))
    assert price is not None  # the schema requires a price or a stock id
    terms = finance_settings(tenant)
    try:
        request = quote_request(
            price=price,
            down_payment=body.down_payment,
            down_payment_percent=body.down_payment_percent,
            term_months=body.term_months,
        )
        if request.term_months is None:
            return FinanceQuoteRead(
                quotes=[QuoteRead.of(q, body.stock_id) for q in quote_all_terms(request=request, terms=terms)]
            )
        single = quote_financing(request=request, terms=terms)
    except FinanceError as error:
        raise InvalidInput(error.message, details=error.as_payload()["details"], code=error.code) from error
    schedule = [AmortizationRowRead.of(row) for row in amortization_schedule(single)] if body.schedule else None
    return FinanceQuoteRead(quote=QuoteRead.of(single, body.stock_id), schedule=schedule)
