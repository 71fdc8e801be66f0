"""Finance endpoints of a tenant."""

from __future__ import annotations

from fastapi import APIRouter

from app.catalog.service import load_catalog
from app.core.errors import InvalidInput
from app.deps import SessionDep, TenantDep
from app.finance.schemas import AmortizationRowRead, FinanceQuoteCreate, FinanceQuoteRead, QuoteRead
from app.finance.service import FinanceError, amortization_schedule, quote_for
from app.tenants.service import finance_settings

router = APIRouter(prefix="/v1/tenants/{slug}/finance", tags=["finance"])


@router.post("/quote", response_model=FinanceQuoteRead, response_model_exclude_none=True)
async def quote(body: FinanceQuoteCreate, tenant: TenantDep, session: SessionDep) -> FinanceQuoteRead:
    """Quote a price or a catalog car (its catalog price) with the tenant's rate, terms and minimum down payment.

    404 for an unknown `stock_id`; 422 (code `term_not_offered`, `down_payment_too_low`, ...) when the
    request breaks the tenant's terms, with the allowed terms and minimum down payment in `details`.
    """
    # Only a stock id needs the catalog (cached per catalog version); a bare price is quoted without it.
    catalog = (await load_catalog(session, tenant_id=tenant.id)).frame if body.stock_id is not None else None
    try:
        quoted = quote_for(
            terms=finance_settings(tenant),
            catalog=catalog,
            price=body.price,
            stock_id=body.stock_id,
            down_payment=body.down_payment,
            down_payment_percent=body.down_payment_percent,
            term_months=body.term_months,
        )
    except FinanceError as error:
        raise InvalidInput(error.message, details=error.as_payload()["details"], code=error.code) from error
    single = quoted.single
    if single is None:
        return FinanceQuoteRead(quotes=[QuoteRead.of(q, body.stock_id) for q in quoted.quotes])
    schedule = [AmortizationRowRead.of(row) for row in amortization_schedule(single)] if body.schedule else None
    return FinanceQuoteRead(quote=QuoteRead.of(single, body.stock_id), schedule=schedule)
