"""WhatsApp's rules as plain functions: opt-out words, the window, taps, list limits, template names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.flows import conversation as flows
from app.messaging import rich, templates
from app.messaging.optout import read_opt_out
from app.messaging.window import too_old_to_answer, window_state


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("STOP", "stop"),
        ("baja", "stop"),
        ("  Cancelar. ", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("ya no me escriban", "stop"),
        ("Por favor ya no me escriban más", "stop"),
        ("stop texting me", "stop"),
        ("START", "start"),
        ("alta", "start"),
        # With courtesy words, emoji, quotes, repeated, or hidden by invisible or look-alike characters.
        ("stop please", "stop"),
        ("Baja por favor", "stop"),
        ("STOP 🛑", "stop"),
        ("🛑 STOP", "stop"),
        ("stop😡", "stop"),
        ("S\u200bTOP", "stop"),
        ("STOP\u200b", "stop"),
        ("Stop!\nStop", "stop"),
        ("«STOP»", "stop"),
        ("ＳＴＯＰ", "stop"),
        ("\u0405TOP", "stop"),  # Cyrillic capital DZE for the S
        ("Alto", "stop"),
        ("ya no quiero mensajes", "stop"),
        ("Ya no quiero recibir sus mensajes, gracias", "stop"),
        ("alta por favor", "start"),
    ],
)
def test_opt_out_words_and_phrasings(text: str, action: str) -> None:
    found = read_opt_out(text)
    assert found is not None and found.action == action


@pytest.mark.parametrize(
    "text",
    [
        "stop en la esquina",
        "¿me das de baja el precio?",
        "hola",
        "start the car?",
        "quiero un auto alto",
        "el precio más alto",
        "quiero el de precio alto por favor",
        "baja el precio",
        "alto o bajo?",
        "stop and go",
        "end of month",
        "gracias",
        "ok",
    ],
)
def test_ordinary_messages_are_no_opt_out(text: str) -> None:
    assert read_opt_out(text) is None


def test_cancelar_is_ambiguous_and_twilio_advanced_opt_out_is_not() -> None:
    assert read_opt_out("cancelar") == read_opt_out("CANCELAR")
    assert read_opt_out("cancelar").ambiguous  # type: ignore[union-attr]
    twilio = read_opt_out("STOP", {"OptOutType": "STOP"})
    assert twilio is not None and twilio.source == "twilio" and not twilio.ambiguous


def test_the_window_is_24_hours_and_unknown_without_a_message() -> None:
    now = datetime.now(UTC)
    assert window_state(None, now=now) == "unknown"
    assert window_state(now - timedelta(hours=23, minutes=59), now=now) == "open"
    assert window_state(now - timedelta(hours=24), now=now) == "closed"
    assert too_old_to_answer(now - timedelta(hours=25), now=now)


def test_a_tap_reads_as_the_words_it_stands_for() -> None:
    assert rich.tap_text({"ListId": "car:2"}, "es") == "el segundo"
    assert rich.tap_text({"ListId": "car:2"}, "en") == "the second one"
    assert rich.tap_text({"ListId": "car:7"}, "es") == "opción 7"
    assert rich.tap_text({"ButtonPayload": "yes"}, "es") == "sí"
    assert rich.tap_text({"ListId": "term:48"}, "es") == "a 48 meses"
    assert rich.tap_text({"ButtonPayload": "someone-elses"}, "es") is None


def test_lists_keep_whatsapps_limits() -> None:
    cars = [{"make": "Volkswagen", "model": "Jetta Comfortline Plus Edition", "year": 2019, "price": 289000}] * 10
    spec = rich.car_list("Estos tengo:", cars, "es")
    assert spec is not None and len(spec["items"]) == 10
    assert all(len(i["item"]) <= 24 and len(i["description"]) <= 72 for i in spec["items"])
    assert rich.car_list("Estos tengo:", cars * 2, "es") is None  # 20 rows: the text goes instead
    assert rich.car_list("x" * 1025, cars[:2], "es") is None
    assert rich.content_hash(rich.content_types(spec, "t")) == rich.content_hash(rich.content_types(dict(spec), "t"))


def test_template_names_map_to_purposes_and_variables_fit_twilio() -> None:
    assert templates.purpose_of("vendor_outreach_es", "demo") == ("vendor_outreach", "es", False)
    assert templates.purpose_of("demo_shortlist_ready_en", "demo") == ("shortlist_ready", "en", True)
    assert templates.purpose_of("promo_navidad", "demo") is None
    assert templates.clean_variable("uno\n\ndos\t tres") == "uno dos tres"
    assert templates.render("Hola {{1}}, {{ 2 }}", {"1": "Ana", "2": "listo"}) == "Hola Ana, listo"
    for purpose in templates.PURPOSES:
        for language in templates.LANGUAGES:
            body = templates.default_body(purpose, language)
            assert set(templates._VARIABLE.findall(body)) == set(templates.SAMPLES[purpose])


def test_queue_template_queues_the_conversation_job_the_flow_runs() -> None:
    assert templates.CONVERSATION_TASK == flows.CONVERSATION_TASK
    assert templates.CONVERSATION_LOCK_PREFIX == flows.CONVERSATION_LOCK_PREFIX
