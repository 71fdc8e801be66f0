"""The LLM-edge fakes drive the REAL client classes (ChatOpenAI, ChatGoogleGenerativeAI) with no network.

These tests also pin down what each provider raises for 429 / 5xx / client timeouts, and where the HTTP
status lives on the exception, so the LLM tiers' fallback and retry code can rely on it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pydantic
import pytest
from google.genai import errors as genai_errors
from langchain_core.exceptions import (
    ModelAPIError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_google_genai.chat_models import (
    ChatGoogleGenerativeAIError,
    GoogleAPIError,
    GoogleRateLimitError,
)
from langchain_openai.chat_models.base import OpenAIAPIError, OpenAIRateLimitError, OpenAITimeoutError
from pydantic import BaseModel, Field

from tests.fakes.gemini_transport import FakeGeminiServer, has_function_response, make_fake_gemini
from tests.fakes.openai_server import (
    FakeOpenAIServer,
    Reply,
    ToolCallSpec,
    delayed,
    error,
    hang,
    has_tool_message,
    rate_limited,
    text,
    tool_call,
    tool_calls,
)

# langchain-core's error metadata calls `response.json()` on aiohttp's ClientResponse (a coroutine) when a
# Gemini async call fails with a 5xx; the unawaited coroutine warns when collected. Harmless here.
_UNAWAITED_JSON = "coroutine 'ClientResponse.json' was never awaited"
pytestmark = [
    pytest.mark.filterwarnings(f"ignore:{_UNAWAITED_JSON}:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]

TIMEOUT = 0.3  # client-side timeout used to provoke timeouts quickly


class LookupProduct(BaseModel):
    """Look up a product in the catalog by SKU."""

    sku: str = Field(description="The product SKU")
    quantity: int = Field(default=1, description="How many units")


def mro(exc: BaseException) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]


@pytest.fixture(scope="module")
def oai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def gem() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_fakes(request: pytest.FixtureRequest) -> Iterator[None]:
    for name in ("oai", "gem"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            server.reset()
            server.set_responder(None)
    yield
    if "gemini" in request.node.name:  # collect the stray coroutine while the filter still applies
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _UNAWAITED_JSON, RuntimeWarning)
            gc.collect()


# ============================================================================================== OpenAI


async def test_openai_text_answer_with_usage(oai: FakeOpenAIServer) -> None:
    oai.enqueue(text("Hola, ¿en qué te ayudo?"))
    llm = oai.chat_model("gpt-4.1-mini")

    msg = await llm.ainvoke([HumanMessage("hola buenas")])

    assert isinstance(msg, AIMessage)
    assert msg.content == "Hola, ¿en qué te ayudo?"
    assert msg.response_metadata["model_name"] == "gpt-4.1-mini"  # echoed from the request
    assert msg.response_metadata["finish_reason"] == "stop"
    # ceil(len("hola buenas") / 4) = 3 ; ceil(len("Hola, ¿en qué te ayudo?") / 4) = 6
    assert msg.usage_metadata is not None
    assert (msg.usage_metadata["input_tokens"], msg.usage_metadata["output_tokens"]) == (3, 6)
    assert msg.usage_metadata["total_tokens"] == 9

    [req] = oai.requests
    assert req.path == "/v1/chat/completions"
    assert req.model == req.body["model"] == "gpt-4.1-mini"
    assert req.body["messages"] == [{"role": "user", "content": "hola buenas"}]
    assert req.headers["authorization"] == "Bearer test"
    assert req.response_status == 200


async def test_openai_tool_choice_any_yields_parsed_tool_call(oai: FakeOpenAIServer) -> None:
    oai.enqueue(tool_call("LookupProduct", {"sku": "A-1", "quantity": 2}, id="call_1"))
    llm = oai.chat_model().bind_tools([LookupProduct], tool_choice="any")

    msg = await llm.ainvoke("¿Tienen A-1?")

    assert msg.tool_calls == [
        {"name": "LookupProduct", "args": {"sku": "A-1", "quantity": 2}, "id": "call_1", "type": "tool_call"}
    ]
    assert msg.response_metadata["finish_reason"] == "tool_calls"
    body = oai.last_request.body
    assert body["tool_choice"] == "required"  # "any" is sent as OpenAI's "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["LookupProduct"]
    # prompt estimate includes the tool schemas
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] > 50


async def test_openai_several_tool_calls_and_malformed_args(oai: FakeOpenAIServer) -> None:
    oai.enqueue(
        tool_calls(("LookupProduct", {"sku": "A"}), ToolCallSpec("LookupProduct", '{"sku": "B"', id="bad")),
    )
    msg = await oai.chat_model().bind_tools([LookupProduct]).ainvoke("A y B")

    assert [c["args"] for c in msg.tool_calls] == [{"sku": "A"}]
    [invalid] = msg.invalid_tool_calls
    assert invalid["id"] == "bad"
    assert invalid["name"] == "LookupProduct"
    assert invalid["args"] == '{"sku": "B"'
    assert invalid["error"] and "not valid JSON" in invalid["error"]


async def test_openai_rate_limit_429(oai: FakeOpenAIServer) -> None:
    oai.enqueue(rate_limited(retry_after=7))
    with pytest.raises(ModelRateLimitError) as info:
        await oai.chat_model().ainvoke("x")

    exc = info.value
    assert type(exc) is OpenAIRateLimitError
    assert isinstance(exc, openai.RateLimitError)
    assert isinstance(exc, openai.APIStatusError)
    assert exc.is_retryable
    assert mro(exc)[:6] == [
        "langchain_openai.chat_models.base.OpenAIRateLimitError",
        "openai.RateLimitError",
        "openai.APIStatusError",
        "openai.APIError",
        "openai.OpenAIError",
        "langchain_core.exceptions.ModelRateLimitError",
    ]
    assert exc.status_code == 429
    assert exc.response.status_code == 429
    assert exc.response.headers["retry-after"] == "7"
    assert isinstance(exc.__cause__, openai.RateLimitError)
    assert oai.request_count == 1  # max_retries=0: a single attempt


@pytest.mark.parametrize("status", [500, 503])
async def test_openai_server_errors(oai: FakeOpenAIServer, status: int) -> None:
    oai.enqueue(error(status))
    with pytest.raises(ModelAPIError) as info:
        await oai.chat_model().ainvoke("x")

    exc = info.value
    assert type(exc) is OpenAIAPIError
    assert isinstance(exc, openai.InternalServerError)
    assert mro(exc)[:3] == [
        "langchain_openai.chat_models.base.OpenAIAPIError",
        "openai.InternalServerError",
        "openai.APIStatusError",
    ]
    assert exc.status_code == status


async def test_openai_client_timeout(oai: FakeOpenAIServer) -> None:
    oai.enqueue(delayed(5, "too late"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ModelTimeoutError) as info:
        await oai.chat_model(timeout=TIMEOUT).ainvoke("x")

    assert loop.time() - started < 2
    exc = info.value
    assert type(exc) is OpenAITimeoutError
    assert isinstance(exc, openai.APITimeoutError)
    assert isinstance(exc, openai.APIConnectionError)  # NOT an APIStatusError: no status_code
    assert not hasattr(exc, "status_code")
    assert mro(exc)[:4] == [
        "langchain_openai.chat_models.base.OpenAITimeoutError",
        "openai.APITimeoutError",
        "openai.APIConnectionError",
        "openai.APIError",
    ]


async def test_openai_hang_until_release(oai: FakeOpenAIServer) -> None:
    oai.enqueue(hang(text("released")))
    llm = oai.chat_model()
    call = asyncio.ensure_future(llm.ainvoke("x"))
    [req] = await oai.wait_for_requests(1)
    await asyncio.sleep(0.05)
    assert not call.done()
    assert req.response_status is None
    oai.release()
    msg = await asyncio.wait_for(call, 2)
    assert msg.content == "released"
    assert oai.last_request.response_status == 200


async def test_openai_fail_next_then_queue_then_default(oai: FakeOpenAIServer) -> None:
    oai.fail_next(2, 503)
    oai.enqueue("queued")
    llm = oai.chat_model()
    for _ in range(2):
        with pytest.raises(ModelAPIError):
            await llm.ainvoke("x")
    assert (await llm.ainvoke("x")).content == "queued"
    assert (await llm.ainvoke("x")).content == "OK"  # default_text when nothing is scripted
    assert [r.response_status for r in oai.requests] == [503, 503, 200, 200]
    oai.reset()
    assert oai.requests == [] and oai.pending == 0


async def test_openai_sdk_retries_honour_retry_after(oai: FakeOpenAIServer) -> None:
    oai.fail_next(1, 429, retry_after=0.05)
    oai.enqueue("after retry")
    msg = await oai.chat_model(max_retries=1).ainvoke("x")
    assert msg.content == "after retry"
    assert oai.request_count == 2


async def test_openai_responder_drives_a_tool_loop(oai: FakeOpenAIServer) -> None:
    def responder(body: dict[str, Any]) -> Reply | str:
        if not has_tool_message(body):
            return tool_call("LookupProduct", {"sku": "Z9"})
        return "Z9 cuesta 10 €"

    oai.set_responder(responder)
    llm = oai.chat_model("gpt-4.1").bind_tools([LookupProduct])
    history: list[Any] = [HumanMessage("precio Z9")]
    first = await llm.ainvoke(history)
    [call] = first.tool_calls
    history += [first, ToolMessage(json.dumps({"price": 10}), tool_call_id=call["id"])]
    second = await llm.ainvoke(history)

    assert second.content == "Z9 cuesta 10 €"
    assert [len(r.body["messages"]) for r in oai.requests] == [1, 3]
    assert oai.requests[1].body["messages"][2]["role"] == "tool"


async def test_openai_responder_errors_become_500(oai: FakeOpenAIServer) -> None:
    def responder(body: dict[str, Any]) -> str:
        raise KeyError("boom")

    oai.set_responder(responder)
    with pytest.raises(ModelAPIError):
        await oai.chat_model().ainvoke("x")
    [exc] = oai.responder_errors
    assert isinstance(exc, KeyError)


async def test_openai_streaming(oai: FakeOpenAIServer) -> None:
    oai.enqueue(tool_calls(("LookupProduct", {"sku": "B"}), ("LookupProduct", {"sku": "C"}), content="Veamos"))
    llm = oai.chat_model(stream_usage=True).bind_tools([LookupProduct])
    chunks = [chunk async for chunk in llm.astream("B y C")]
    merged: Any = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk

    assert oai.last_request.body["stream"] is True
    assert merged.content == "Veamos"
    assert [c["args"] for c in merged.tool_calls] == [{"sku": "B"}, {"sku": "C"}]
    assert merged.usage_metadata is not None and merged.usage_metadata["output_tokens"] > 0


async def test_openai_api_key_checked_when_configured() -> None:
    async with FakeOpenAIServer(api_key="sk-right") as fake:
        assert (await fake.chat_model().ainvoke("x")).content == "OK"
        with pytest.raises(openai.AuthenticationError) as info:
            await fake.chat_model(api_key="sk-wrong").ainvoke("x")
        assert info.value.status_code == 401


# ============================================================================================== Gemini


async def test_gemini_factory_text_answer_with_usage() -> None:
    llm, fake = make_fake_gemini("gemini-2.5-flash", replies=(text("Hola, ¿en qué te ayudo?"),))
    try:
        msg = await llm.ainvoke([HumanMessage("hola buenas")])
    finally:
        fake.stop()

    assert msg.content == "Hola, ¿en qué te ayudo?"
    assert msg.response_metadata["model_name"] == "gemini-2.5-flash"
    assert msg.response_metadata["finish_reason"] == "STOP"
    assert msg.usage_metadata is not None
    assert (msg.usage_metadata["input_tokens"], msg.usage_metadata["output_tokens"]) == (3, 6)
    assert msg.usage_metadata["total_tokens"] == 9

    [req] = fake.requests
    assert req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.model == "gemini-2.5-flash"
    assert req.headers["x-goog-api-key"] == fake.api_key
    assert req.body["contents"] == [{"role": "user", "parts": [{"text": "hola buenas"}]}]


async def test_gemini_tool_choice_any_yields_parsed_tool_call(gem: FakeGeminiServer) -> None:
    gem.enqueue(tool_call("LookupProduct", {"sku": "A-1", "quantity": 2}, id="fc_1"))
    llm = gem.chat_model().bind_tools([LookupProduct], tool_choice="any")

    msg = await llm.ainvoke("¿Tienen A-1?")

    assert msg.tool_calls == [
        {"name": "LookupProduct", "args": {"sku": "A-1", "quantity": 2}, "id": "fc_1", "type": "tool_call"}
    ]
    body = gem.last_request.body
    assert body["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["LookupProduct"]}
    [declaration] = body["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "LookupProduct"


async def test_gemini_several_function_calls(gem: FakeGeminiServer) -> None:
    gem.enqueue(tool_calls(("LookupProduct", {"sku": "A"}), ("LookupProduct", {"sku": "B", "quantity": 3})))
    msg = await gem.chat_model().bind_tools([LookupProduct]).ainvoke("A y B")
    assert [c["args"] for c in msg.tool_calls] == [{"sku": "A"}, {"sku": "B", "quantity": 3}]
    assert all(c["id"] for c in msg.tool_calls)  # uuid4 ids when the API sends none
    assert msg.invalid_tool_calls == []


async def test_gemini_malformed_args_are_rejected_by_the_sdk(gem: FakeGeminiServer) -> None:
    # Gemini's functionCall.args is a JSON object on the wire: a string fails the SDK's response model.
    gem.enqueue(tool_call("LookupProduct", '{"sku": '))
    with pytest.raises(pydantic.ValidationError):
        await gem.chat_model().bind_tools([LookupProduct]).ainvoke("x")


async def test_gemini_rate_limit_429(gem: FakeGeminiServer) -> None:
    gem.enqueue(rate_limited(retry_after=7))
    with pytest.raises(ModelRateLimitError) as info:
        await gem.chat_model().ainvoke("x")

    exc = info.value
    assert type(exc) is GoogleRateLimitError
    assert isinstance(exc, ChatGoogleGenerativeAIError)
    assert not isinstance(exc, genai_errors.APIError)  # rebuilt from a message: no .code on the wrapper
    assert mro(exc)[:5] == [
        "langchain_google_genai.chat_models.GoogleRateLimitError",
        "langchain_google_genai.chat_models.ChatGoogleGenerativeAIError",
        "langchain_google_genai._common.GoogleGenerativeAIError",
        "langchain_core.exceptions.ModelRateLimitError",
        "langchain_core.exceptions.ModelError",
    ]
    assert not hasattr(exc, "code")
    cause = exc.__cause__
    assert isinstance(cause, genai_errors.ClientError)
    assert (cause.code, cause.status) == (429, "RESOURCE_EXHAUSTED")
    assert "429" in str(exc)
    assert cause.details["error"]["details"][0]["retryDelay"] == "7s"
    assert gem.request_count == 1  # max_retries=1 means one attempt


@pytest.mark.parametrize(("status", "google_status"), [(500, "INTERNAL"), (503, "UNAVAILABLE")])
async def test_gemini_server_errors(gem: FakeGeminiServer, status: int, google_status: str) -> None:
    gem.enqueue(error(status))
    with pytest.raises(ModelAPIError) as info:
        await gem.chat_model().ainvoke("x")

    exc = info.value
    assert type(exc) is GoogleAPIError
    assert isinstance(exc, genai_errors.ServerError)
    assert mro(exc)[:4] == [
        "langchain_google_genai.chat_models.GoogleAPIError",
        "google.genai.errors.ServerError",
        "google.genai.errors.APIError",
        "langchain_core.exceptions.ModelAPIError",
    ]
    assert (exc.code, exc.status) == (status, google_status)


async def test_gemini_client_timeout_async_is_a_bare_timeout_error(gem: FakeGeminiServer) -> None:
    gem.enqueue(delayed(5, "too late"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError) as info:
        await gem.chat_model(timeout=TIMEOUT).ainvoke("x")

    assert loop.time() - started < 2
    exc = info.value
    # aiohttp path: builtins.TimeoutError (== asyncio.TimeoutError), NOT a langchain ModelError.
    assert type(exc) is TimeoutError
    assert not isinstance(exc, ModelError)
    assert mro(exc)[:2] == ["builtins.TimeoutError", "builtins.OSError"]


async def test_gemini_client_timeout_sync_is_httpx_read_timeout(gem: FakeGeminiServer) -> None:
    gem.enqueue(hang())
    llm = gem.chat_model(timeout=TIMEOUT)
    with pytest.raises(httpx.TimeoutException) as info:
        await asyncio.to_thread(llm.invoke, "x")
    assert type(info.value) is httpx.ReadTimeout  # sync path uses httpx (not httpx2) by default
    assert not isinstance(info.value, ModelError)


async def test_gemini_responder_drives_a_tool_loop(gem: FakeGeminiServer) -> None:
    def responder(body: dict[str, Any]) -> Reply | str:
        if not has_function_response(body):
            return tool_call("LookupProduct", {"sku": "Z9"})
        return "Z9 cuesta 10 €"

    gem.set_responder(responder)
    llm = gem.chat_model().bind_tools([LookupProduct])
    history: list[Any] = [HumanMessage("precio Z9")]
    first = await llm.ainvoke(history)
    [call] = first.tool_calls
    history += [first, ToolMessage(json.dumps({"price": 10}), tool_call_id=call["id"], name=call["name"])]
    second = await llm.ainvoke(history)

    assert second.content == "Z9 cuesta 10 €"
    assert [len(r.body["contents"]) for r in gem.requests] == [1, 3]


async def test_gemini_streaming(gem: FakeGeminiServer) -> None:
    gem.enqueue(text("hola"))
    chunks = [chunk async for chunk in gem.chat_model().astream("x")]
    assert "".join(str(c.content) for c in chunks) == "hola"
    assert gem.last_request.path.endswith(":streamGenerateContent")
    assert gem.last_request.query == {"alt": "sse"}


async def test_gemini_wrong_api_key() -> None:
    async with FakeGeminiServer(api_key="right") as fake:
        with pytest.raises(ChatGoogleGenerativeAIError) as info:
            await fake.chat_model(google_api_key="wrong").ainvoke("x")
    cause = info.value.__cause__
    assert isinstance(cause, genai_errors.ClientError)
    assert cause.code == 400
