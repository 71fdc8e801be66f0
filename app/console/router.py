"""The operator console at /console: login, inbox, conversation (reply, release, assign, close, notes), leads
and concierge requests, knowledge, catalog upload, operators and analytics.

Server-rendered (Jinja2, autoescaped) with htmx for live parts (the waiting queue and the open conversation
poll every few seconds). Pages are outside the OpenAPI document. Every page needs a console session
(app.console.auth); every POST needs the session's CSRF token; forms answer with a redirect (303) to the
page, so reloading never repeats an action.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.alerts import service as alerts_service
from app.catalog import service as catalog_service
from app.concierge import service as concierge_service
from app.console import auth, charts
from app.console.auth import AdminConsoleDep, Console, ConsoleDep
from app.conversations import service as conversation_service
from app.core.db import session_scope
from app.core.errors import Conflict, DomainError, InvalidInput, NotFound
from app.core.metrics import RATE_LIMITED
from app.deps import SessionDep
from app.experiments import service as experiments_service
from app.experiments.models import ENDED, Experiment
from app.feedback import corrections as corrections_service
from app.feedback import service as feedback_service
from app.flows import operators as operator_flow
from app.knowledge import service as knowledge_service
from app.knowledge.schemas import KnowledgeEntryUpdate
from app.leads import service as lead_service
from app.messaging.window import WINDOW, window_state
from app.operators import accounts, analytics, desk
from app.operators.zones import tenant_zone
from app.tenants import service as tenant_service
from app.text.visible import is_blank

HERE = Path(__file__).parent
STATIC: Final = {"htmx.min.js": "text/javascript", "console.css": "text/css"}
# Served with every console page: no inline scripts, no framing, no third-party anything.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# Notices shown after a redirect, by code (never text from the query string).
NOTICES: Final = {
    "sent": "Message queued for the customer.",
    "window_closed": "More than 24 hours since the customer last wrote: WhatsApp only allows an approved template.",
    "no_template": "No approved WhatsApp template for that choice (agentctl template sync).",
    "released": "Released to the bot.",
    "assigned": "Assignment saved.",
    "closed": "Conversation closed.",
    "noted": "Note added.",
    "empty": "Write something first.",
    "saved": "Saved.",
    "operator_added": "Operator added.",
    "operator_disabled": "Operator disabled: they are signed out and cannot sign in.",
    "operator_enabled": "Operator enabled: they can sign in again.",
    "not_yourself": "You cannot disable your own account; another admin can.",
    "invalid": "Some fields are not valid.",
    "exists": "That email already has an account.",
    "corrected": "Correction saved: it now answers that question and its paraphrases, and is a regression case.",
    "no_answer": "Write the right answer first.",
    "no_question": "That turn has no customer question to correct; write the question out.",
    "started": "Experiment started.",
    "stopped": "Experiment ended: every customer is back on the current configuration.",
    "promoted": "Arm B is now the tenant's configuration.",
    "not_running": "That experiment is not running any more.",
    "running": "An experiment is already running; end it first.",
}

ALERTS_SHOWN: Final = 20
RATINGS: Final = {"up": 1, "down": 0}
OUTCOME_LABELS: Final = {"answered": "answered by the bot", "handoff": "handed off", "dont_know": "don't know"}

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(auth.reject_nul)])
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _localtime(value: datetime | None, tz: str, fmt: str = "%d %b %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(tenant_zone(tz)).strftime(fmt)


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


_env.filters["localtime"] = _localtime
_env.filters["duration"] = _duration


def render(
    name: str, *, console: Console | None, status_code: int = 200, headers: dict[str, str] | None = None, **ctx: Any
) -> HTMLResponse:
    """A template as a page (or htmx fragment) with the console's security headers."""
    html = _env.get_template(name).render(console=console, **ctx)
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def back(path: str, notice: str | None = None) -> RedirectResponse:
    """303 to a console page (its path may carry a query), with a notice code."""
    target = path + (f"{'&' if '?' in path else '?'}notice={quote(notice)}" if notice else "")
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def notice_text(code: str | None) -> str | None:
    return NOTICES.get(code or "")


# ------------------------------------------------------------------------------------------- static


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    """The vendored htmx and the stylesheet (nothing else is served from the folder)."""
    if name not in STATIC:
        raise NotFound("not found")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


# -------------------------------------------------------------------------------------------- login


@router.get("")
async def home() -> RedirectResponse:
    """The inbox (which sends a visitor without a session to the login form)."""
    return RedirectResponse("/console/inbox", status_code=303)


@router.get("/login")
async def login_form() -> HTMLResponse:
    """The login form, with a fresh double-submit CSRF token."""
    return _login_page(error=None)


def _login_page(*, error: str | None, status_code: int = 200, tenant: str = "", email: str = "") -> HTMLResponse:
    token = auth.new_login_csrf()
    response = render(
        "login.html", console=None, error=error, csrf_token=token, tenant=tenant, email=email, status_code=status_code
    )
    auth.set_cookie(response, auth.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(
    request: Request,
    tenant: Annotated[str, Form(max_length=63)],
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the form's CSRF token and the rate limits, then the credentials; a new session on success."""
    if not auth.same_token(csrf_token, request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        return _login_page(error="The form expired; please try again.", status_code=403, tenant=tenant, email=email)
    address = request.client.host if request.client else "unknown"
    decision = await auth.login_allowed(address=address, slug=tenant, email=email)
    if not decision.allowed:
        RATE_LIMITED.labels("console_login").inc()
        response = _login_page(
            error=f"Too many attempts; try again in {decision.retry_after} s.",
            status_code=429,
            tenant=tenant,
            email=email,
        )
        response.headers["Retry-After"] = str(decision.retry_after)
        return response
    async with session_scope() as session:
        found = await tenant_service.get_tenant_by_slug(session, slug=tenant.strip().lower(), missing_ok=True)
        new = await auth.sign_in(
            session,
            tenant=found,
            email=email,
            password=password,
            previous_token=request.cookies.get(auth.SESSION_COOKIE),
        )
    if new is None:
        return _login_page(error="Wrong business, email or password.", status_code=401, tenant=tenant, email=email)
    done = RedirectResponse("/console/inbox", status_code=303)
    auth.set_cookie(done, auth.SESSION_COOKIE, new.token, max_age=accounts.SESSION_HOURS * 3600)
    done.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=auth.COOKIE_PATH)
    return done


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep) -> RedirectResponse:
    """End the session (the row is deleted: a copied cookie stops working too)."""
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        async with session_scope() as session:
            await accounts.end_session(session, token=token)
    response = RedirectResponse(auth.LOGIN_PATH, status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path=auth.COOKIE_PATH)
    return response


# -------------------------------------------------------------------------------------------- inbox


@router.get("/inbox")
async def inbox(
    console: ConsoleDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Waiting handoffs first (refreshed every few seconds), then every conversation, searchable."""
    waiting = await desk.list_handoffs(session, tenant_id=console.tenant_id)
    rows = await desk.list_conversations(session, tenant_id=console.tenant_id, query=q, limit=100)
    return render("inbox.html", console=console, waiting=waiting, rows=rows, q=q or "", notice=notice_text(notice))


@router.get("/inbox/waiting")
async def inbox_waiting(console: ConsoleDep, session: SessionDep) -> HTMLResponse:
    """The waiting queue alone (htmx polls it)."""
    waiting = await desk.list_handoffs(session, tenant_id=console.tenant_id)
    return render("_waiting.html", console=console, waiting=waiting)


# ------------------------------------------------------------------------------------- conversation


async def _conversation_context(session: SessionDep, console: Console, conversation_id: uuid.UUID) -> dict[str, Any]:
    conversation = await conversation_service.get_conversation(
        session, tenant_id=console.tenant_id, conversation_id=conversation_id
    )
    items = await desk.history(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    last_in = conversation.last_inbound_at
    window = window_state(last_in) == "open" if conversation.whatsapp_address else True
    assigned, closed_at = await desk.desk_of(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    return {
        "conversation": conversation,
        "items": items,
        "window_open": window,
        "window_closes": last_in + WINDOW if last_in else None,
        "ratings": await feedback_service.conversation_ratings(
            session, tenant_id=console.tenant_id, conversation_id=conversation_id
        ),
        "assigned": assigned,
        "closed": desk.is_closed(conversation, closed_at),
        "notes": await desk.list_notes(session, tenant_id=console.tenant_id, conversation_id=conversation_id),
        "operators": await accounts.list_operators(session, tenant_id=console.tenant_id),
        "templates": await operator_flow.template_choices(session, tenant_id=console.tenant_id),
    }


@router.get("/conversations/{conversation_id}")
async def conversation_page(
    conversation_id: uuid.UUID,
    console: ConsoleDep,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The whole history, the reply box (free text inside the 24-hour window, a template outside), actions."""
    ctx = await _conversation_context(session, console, conversation_id)
    return render("conversation.html", console=console, notice=notice_text(notice), **ctx)


@router.get("/conversations/{conversation_id}/history")
async def conversation_history(conversation_id: uuid.UUID, console: ConsoleDep, session: SessionDep) -> HTMLResponse:
    """The history alone (htmx polls it)."""
    await conversation_service.get_conversation(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    items = await desk.history(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    ratings = await feedback_service.conversation_ratings(
        session, tenant_id=console.tenant_id, conversation_id=conversation_id
    )
    return render("_history.html", console=console, items=items, ratings=ratings)


@router.post("/conversations/{conversation_id}/reply")
async def reply(
    conversation_id: uuid.UUID,
    console: ConsoleDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    template: Annotated[str, Form(max_length=128)] = "",
    variables: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Send free text (or, outside the window, a template) to the customer as this operator."""
    page = f"/console/conversations/{conversation_id}"
    if not template.strip() and is_blank(text):
        return back(page, "empty")
    try:
        async with session_scope() as session:
            await operator_flow.send(
                session,
                tenant_id=console.tenant_id,
                conversation_id=conversation_id,
                author=console.author,
                text=text,
                template=template.strip(),
                variables=operator_flow.parse_variables(variables),
            )
    except operator_flow.WindowClosed:
        return back(page, "window_closed")
    except InvalidInput:
        return back(page, "no_template")
    return back(page, "sent")


@router.post("/conversations/{conversation_id}/release")
async def release(conversation_id: uuid.UUID, console: ConsoleDep, session: SessionDep) -> RedirectResponse:
    """Back to the bot."""
    await desk.release(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    return back(f"/console/conversations/{conversation_id}", "released")


@router.post("/conversations/{conversation_id}/close")
async def close(conversation_id: uuid.UUID, console: ConsoleDep, session: SessionDep) -> RedirectResponse:
    """Done with it."""
    await desk.close(session, tenant_id=console.tenant_id, conversation_id=conversation_id)
    return back(f"/console/conversations/{conversation_id}", "closed")


@router.post("/conversations/{conversation_id}/assign")
async def assign(
    conversation_id: uuid.UUID,
    console: ConsoleDep,
    session: SessionDep,
    operator_id: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    """Assign to an operator ("me" for oneself, empty to unassign)."""
    target: uuid.UUID | None
    if operator_id == "me":
        target = console.operator_id
    elif operator_id:
        try:
            target = uuid.UUID(operator_id)
        except ValueError:
            return back(f"/console/conversations/{conversation_id}", "invalid")
    else:
        target = None
    await desk.assign(session, tenant_id=console.tenant_id, conversation_id=conversation_id, operator_id=target)
    return back(f"/console/conversations/{conversation_id}", "assigned")


@router.post("/conversations/{conversation_id}/notes")
async def add_note(
    conversation_id: uuid.UUID,
    console: ConsoleDep,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> RedirectResponse:
    """An internal note."""
    page = f"/console/conversations/{conversation_id}"
    if is_blank(text):
        return back(page, "empty")
    async with session_scope() as session:
        await desk.add_note(
            session, tenant_id=console.tenant_id, conversation_id=conversation_id, text=text, author=console.author
        )
    return back(page, "noted")


# ------------------------------------------------------------------------------ leads and concierge


@router.get("/leads")
async def leads(console: ConsoleDep, session: SessionDep) -> HTMLResponse:
    """Visit and test-drive requests, and concierge requests with their shortlists."""
    lead_rows = await lead_service.list_leads(session, tenant_id=console.tenant_id, limit=200)
    requests = await concierge_service.list_requests(session, tenant_id=console.tenant_id, limit=50)
    details = [
        await concierge_service.request_detail(session, tenant_id=console.tenant_id, request_id=r.id) for r in requests
    ]
    return render("leads.html", console=console, leads=lead_rows, requests=details)


# ----------------------------------------------------------------------------------------- knowledge


@router.get("/knowledge")
async def knowledge(
    console: ConsoleDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The tenant's knowledge entries, searchable by title and text."""
    entries = await knowledge_service.list_entries(session, tenant_id=console.tenant_id, limit=1000)
    if q and q.strip():
        needle = q.strip().lower()
        entries = [e for e in entries if needle in e.title.lower() or needle in e.content.lower()]
    return render("knowledge.html", console=console, entries=entries, q=q or "", notice=notice_text(notice))


@router.get("/knowledge/{entry_id}")
async def knowledge_entry(
    entry_id: uuid.UUID,
    console: ConsoleDep,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """One entry's edit form."""
    entry = await knowledge_service.get_entry(session, tenant_id=console.tenant_id, entry_id=entry_id)
    return render("knowledge_edit.html", console=console, entry=entry, notice=notice_text(notice), errors=[])


@router.post("/knowledge/{entry_id}")
async def knowledge_save(
    entry_id: uuid.UUID,
    console: ConsoleDep,
    session: SessionDep,
    title: Annotated[str, Form(max_length=500)],
    content: Annotated[str, Form(max_length=20_000)],
    category: Annotated[str, Form(max_length=100)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Save an entry (its chunks and version follow, as through the API)."""
    try:
        changes = KnowledgeEntryUpdate(title=title, content=content, category=category or None, active=active == "on")
    except ValidationError as exc:
        entry = await knowledge_service.get_entry(session, tenant_id=console.tenant_id, entry_id=entry_id)
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return render("knowledge_edit.html", console=console, entry=entry, notice=None, errors=errors, status_code=422)
    await knowledge_service.update_entry(session, tenant_id=console.tenant_id, entry_id=entry_id, changes=changes)
    return back(f"/console/knowledge/{entry_id}", "saved")


# ------------------------------------------------------------------------------------------- catalog


@router.get("/catalog")
async def catalog(console: ConsoleDep, session: SessionDep) -> HTMLResponse:
    """The catalog's size and the upload form."""
    count = await analytics.catalog_size(session, tenant_id=console.tenant_id)
    return render("catalog.html", console=console, count=count, result=None, error=None)


@router.post("/catalog")
async def catalog_upload(
    console: ConsoleDep, file: Annotated[UploadFile, File(description="CSV with a header row")]
) -> HTMLResponse:
    """Replace the catalog from a CSV; a bad row is shown with its row and column, and nothing changes."""
    data = await file.read()
    result = None
    error: DomainError | None = None
    try:
        async with session_scope() as session:
            result = await catalog_service.import_catalog_csv(session, tenant_id=console.tenant_id, data=data)
    except DomainError as exc:
        error = exc
    async with session_scope() as session:
        count = await analytics.catalog_size(session, tenant_id=console.tenant_id)
    return render(
        "catalog.html",
        console=console,
        count=count,
        result=result,
        error=error,
        status_code=200 if error is None else 422,
    )


# ----------------------------------------------------------------------------------------- operators


@router.get("/operators")
async def operators(
    console: AdminConsoleDep, session: SessionDep, notice: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    """The tenant's operators (admins only) and the form to add one."""
    rows = await accounts.list_operators(session, tenant_id=console.tenant_id)
    return render("operators.html", console=console, operators=rows, notice=notice_text(notice))


@router.post("/operators")
async def operator_add(
    console: AdminConsoleDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)] = "operator",
) -> RedirectResponse:
    """Add an operator (admins only)."""
    try:
        async with session_scope() as session:
            await accounts.create_operator(
                session, tenant_id=console.tenant_id, email=email, password=password, role=role
            )
    except Conflict:
        return back("/console/operators", "exists")
    except InvalidInput:
        return back("/console/operators", "invalid")
    return back("/console/operators", "operator_added")


@router.post("/operators/{operator_id}/{action}")
async def operator_access(
    operator_id: uuid.UUID, action: Literal["disable", "enable"], console: AdminConsoleDep
) -> RedirectResponse:
    """Disable an operator (no sign-in, their open sessions end now) or enable them again (admins only; not
    oneself, so the tenant always keeps the admin doing it)."""
    if operator_id == console.operator_id:
        return back("/console/operators", "not_yourself")
    async with session_scope() as session:
        operator = await accounts.require_operator(session, tenant_id=console.tenant_id, operator_id=operator_id)
        await accounts.set_disabled(session, operator=operator, disabled=action == "disable")
    return back("/console/operators", f"operator_{action}d")


# ----------------------------------------------------------------------------------------- analytics


@router.get("/analytics")
async def analytics_page(
    console: ConsoleDep, session: SessionDep, days: Annotated[int, Query(ge=1, le=90)] = 14
) -> HTMLResponse:
    """The numbers of the last ``days`` days as charts."""
    since = datetime.now(UTC) - timedelta(days=days)
    report = await analytics.report(session, tenant_id=console.tenant_id, since=since, tz=console.tenant_timezone)
    alerts = await alerts_service.list_alerts(session, tenant_id=console.tenant_id, limit=ALERTS_SHOWN)
    return render(
        "analytics.html",
        console=console,
        report=report,
        days=days,
        alerts=alerts,
        charts={
            "volume": charts.bars(report.days, [("Conversations", report.conversations), ("Turns", report.turns)]),
            "outcomes": charts.stacked_share(
                report.days, {OUTCOME_LABELS[name]: values for name, values in report.outcomes.items()}
            ),
            "cost": charts.bars(report.days, [("LLM cost (USD)", report.cost)], money=True),
            "waits": charts.hbars(report.handoff_wait_buckets),
            "shortlist": charts.bars(report.days, [("Minutes to shortlist", report.shortlist_minutes)]),
        },
    )


# ------------------------------------------------------------------------------- feedback, corrections


def _day_start(day: date | None, tz: str) -> datetime | None:
    """Midnight of ``day`` in the tenant's time zone (the date filters are the tenant's calendar days)."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=tenant_zone(tz))


@router.get("/feedback")
async def feedback_page(
    console: ConsoleDep,
    session: SessionDep,
    rating: Annotated[str, Query(pattern="^(all|up|down)$")] = "all",
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Customers' 👍/👎 with the question, the rated reply and a 👎's reason (filtered by rating and answer
    date), and the corrections operators made, each linked to the turn it corrects."""
    end = _day_start(until + timedelta(days=1), console.tenant_timezone) if until and until < date.max else None
    items = await feedback_service.list_feedback(
        session,
        tenant_id=console.tenant_id,
        score=RATINGS.get(rating),
        limit=200,
        since=_day_start(since, console.tenant_timezone),
        until=end,
    )
    corrections = await corrections_service.list_corrections(session, tenant_id=console.tenant_id)
    sources = await feedback_service.turn_conversations(
        session, tenant_id=console.tenant_id, turn_ids=[c.turn_id for c in corrections if c.turn_id is not None]
    )
    return render(
        "feedback.html",
        console=console,
        items=items,
        up=sum(1 for i in items if i.score == 1),
        down=sum(1 for i in items if i.score == 0),
        rating=rating,
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        corrections=corrections,
        sources=sources,
        notice=notice_text(notice),
    )


@router.get("/corrections/new")
async def correction_form(
    console: ConsoleDep,
    session: SessionDep,
    turn_id: Annotated[int | None, Query(ge=1)] = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The right-answer form for one bot turn (its question and reply shown), or for a question written out."""
    turn = None
    if turn_id is not None:
        turn = await feedback_service.turn_summary(session, tenant_id=console.tenant_id, turn_id=turn_id)
        if turn is None:
            raise NotFound("No such turn", details={"field": "turn_id"})
    return render("correction.html", console=console, turn=turn, notice=notice_text(notice))


def _correction_back(turn_id: int | None, notice: str) -> RedirectResponse:
    """Back to the correction form (for the same turn) with a notice."""
    return back("/console/corrections/new" + (f"?turn_id={turn_id}" if turn_id else ""), notice)


@router.post("/corrections")
async def correction_save(
    console: ConsoleDep,
    answer: Annotated[str, Form(max_length=5000)] = "",
    question: Annotated[str, Form(max_length=500)] = "",
    paraphrases: Annotated[str, Form(max_length=5000)] = "",
    turn_id: Annotated[int | None, Form(ge=1)] = None,
) -> RedirectResponse:
    """Make the correction with the same service as ``POST /v1/tenants/{slug}/corrections``: a curated answer
    for the question and its paraphrases (one a line), and regression cases; back to the conversation."""
    if not answer.strip():
        return _correction_back(turn_id, "no_answer")
    lines = [line.strip() for line in paraphrases.splitlines() if line.strip()][:20]
    try:
        async with session_scope() as session:
            await corrections_service.create_correction(
                session,
                tenant_id=console.tenant_id,
                answer=answer,
                question=question.strip() or None,
                turn_id=turn_id,
                paraphrases=lines,
            )
            source = (
                await feedback_service.turn_conversations(session, tenant_id=console.tenant_id, turn_ids=[turn_id])
                if turn_id
                else {}
            )
    except InvalidInput:
        return _correction_back(turn_id, "no_question")
    if turn_id and turn_id in source:
        return back(f"/console/conversations/{source[turn_id]}", "corrected")
    return back("/console/feedback", "corrected")


# ---------------------------------------------------------------------------------------- experiments

METRIC_LABELS: Final = {
    "handoff_rate": "Handoff rate",
    "dont_know_rate": "Don't know rate",
    "thumbs_down_rate": "👎 rate",
}
# The shares drawn with their intervals: (label, ArmMetrics field).
CHART_RATES: Final = (
    ("Thumbs-up rate", "thumbs_up"),
    ("Handoff rate", "handoff"),
    ("Don't know rate", "dont_know"),
    ("Resolved without handoff", "resolved_without_handoff"),
)


async def _experiment_view(session: SessionDep, experiment: Experiment) -> dict[str, Any]:
    """An experiment's per-arm metrics, the sequential test's ratio and the error-bar chart."""
    found = await experiments_service.metrics(session, experiment)
    verdict = experiments_service.verdict(found, experiment.guard_metric)
    rows: list[tuple[str, str, float | None, tuple[float, float] | None]] = []
    for label, field in CHART_RATES:
        for metrics in found.values():
            rate: experiments_service.Rate = getattr(metrics, field)
            rows.append((label, metrics.arm, rate.value, rate.interval()))
    return {
        "experiment": experiment,
        "arms": list(found.values()),
        "ratio": round(verdict.likelihood_ratio, 2),
        "threshold": round(1 / experiments_service.ALPHA),
        "chart": charts.intervals(rows),
        "guard_label": METRIC_LABELS.get(experiment.guard_metric, experiment.guard_metric),
    }


@router.get("/experiments")
async def experiments_page(
    console: ConsoleDep,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The tenant's experiments, newest first, and (for admins) the form to start one."""
    return await _experiments_list(console, session, notice=notice_text(notice))


async def _experiments_list(
    console: Console,
    session: SessionDep,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = await experiments_service.list_experiments(session, tenant_id=console.tenant_id)
    return render(
        "experiments.html",
        console=console,
        experiments=rows,
        metrics=METRIC_LABELS,
        notice=notice,
        error=error,
        form=form or {"name": "", "variant": "", "split": "0.5", "guard_metric": "handoff_rate"},
        status_code=status_code,
    )


@router.post("/experiments")
async def experiment_start(
    console: AdminConsoleDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=100)] = "",
    variant: Annotated[str, Form(max_length=20_000)] = "",
    split: Annotated[str, Form(max_length=10)] = "0.5",
    guard_metric: Annotated[str, Form(max_length=32)] = "handoff_rate",
) -> Response:
    """Start an experiment (admins only): arm B is the tenant's configuration with the JSON ``variant``
    applied, for ``split`` of customers; a bad field is shown on the form, nothing starts."""
    form = {"name": name, "variant": variant, "split": split, "guard_metric": guard_metric}
    error = None
    try:
        changes = json.loads(variant or "{}")
        share = float(split)
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        changes, share, error = {}, 0.0, "The variant must be a JSON object and the split a number."
    if error is None and not name.strip():
        error = "Give the experiment a name."
    elif error is None and not isinstance(changes, dict):
        error = "The variant must be a JSON object of agent-configuration fields."
    elif error is None and not 0 < share < 1:
        error = "The split is the share of customers in arm B, between 0 and 1 (exclusive)."
    if error is None:
        tenant = await tenant_service.require_tenant(session, slug=console.tenant_slug)
        try:
            async with session_scope() as writing:
                experiment = await experiments_service.start(
                    writing,
                    tenant_id=console.tenant_id,
                    base=tenant_service.get_agent_config(tenant),
                    name=name.strip(),
                    variant=changes,
                    split=share,
                    guard_metric=guard_metric,
                )
                experiment_id = experiment.id
        except InvalidInput as exc:
            error = f"{exc}: {_field_errors(exc)}"
        except Conflict:
            error = NOTICES["running"]
    if error is not None:
        return await _experiments_list(console, session, error=error, form=form, status_code=422)
    return back(f"/console/experiments/{experiment_id}", "started")


def _field_errors(exc: DomainError) -> str:
    """The fields a variant got wrong, from the service's error details."""
    details = exc.details or {}
    errors = details.get("errors") if isinstance(details, dict) else None
    if not errors:
        return str(details.get("field", "")) if isinstance(details, dict) else ""
    return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors)


@router.get("/experiments/{experiment_id}")
async def experiment_page(
    experiment_id: uuid.UUID,
    console: ConsoleDep,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """One experiment: per-arm metrics with 95% intervals (table and error-bar chart), why it stopped."""
    experiment = await experiments_service.get(session, tenant_id=console.tenant_id, experiment_id=experiment_id)
    view = await _experiment_view(session, experiment)
    return render("experiment.html", console=console, notice=notice_text(notice), **view)


@router.post("/experiments/{experiment_id}/stop")
async def experiment_stop(experiment_id: uuid.UUID, console: AdminConsoleDep) -> RedirectResponse:
    """End it with nothing changed (admins only)."""
    page = f"/console/experiments/{experiment_id}"
    try:
        async with session_scope() as session:
            experiment = await experiments_service.get(
                session, tenant_id=console.tenant_id, experiment_id=experiment_id
            )
            experiments_service.end(experiment, status=ENDED, reason=f"ended by {console.email}")
    except Conflict:
        return back(page, "not_running")
    return back(page, "stopped")


@router.post("/experiments/{experiment_id}/promote")
async def experiment_promote(experiment_id: uuid.UUID, console: AdminConsoleDep) -> RedirectResponse:
    """Make arm B the tenant's configuration and end the experiment (admins only)."""
    page = f"/console/experiments/{experiment_id}"
    try:
        async with session_scope() as session:
            experiment = await experiments_service.get(
                session, tenant_id=console.tenant_id, experiment_id=experiment_id
            )
            tenant = await tenant_service.require_tenant(session, slug=console.tenant_slug)
            await experiments_service.promote(session, tenant=tenant, experiment=experiment)
    except Conflict:
        return back(page, "not_running")
    except InvalidInput:
        return back(page, "invalid")
    return back(page, "promoted")
