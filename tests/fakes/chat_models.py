"""A scripted chat model for unit tests: tool calls, usage, provider-like errors and delays, no network.

``GenericFakeChatModel`` and ``FakeMessagesListChatModel`` cannot ``bind_tools``, so they cannot drive
``with_structured_output(method="function_calling")`` or a tool loop. ``ScriptedChatModel`` can: binding
tools records them and returns the model itself, and each call plays the next step of its script.

A step is an ``AIMessage`` (or a string: a plain text answer), an exception to raise, a ``Sleep`` (wait,
then play its own step), or a callable taking the messages and returning a step.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from app.llm.models import ModelSpec

_ids = itertools.count(1)


class ProviderError(Exception):
    """A provider error carrying its HTTP status where the SDKs put it (``status_code``)."""

    def __init__(self, status_code: int, message: str | None = None) -> None:
        super().__init__(message or f"HTTP {status_code}")
        self.status_code = status_code


class CodedError(Exception):
    """A google-genai style error: the status is ``code`` (and ``status`` is a string)."""

    def __init__(self, code: int, status: str = "UNKNOWN") -> None:
        super().__init__(f"{code} {status}")
        self.code = code
        self.status = status


class ScriptExhausted(AssertionError):
    """The model was called more often than the test scripted."""


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (asyncio.sleep on the async path), then play ``then``."""

    seconds: float
    then: Any = "late answer"


def usage(input_tokens: int, output_tokens: int) -> UsageMetadata:
    """Usage metadata as providers report it."""
    return UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )


def text(content: str, *, tokens: tuple[int, int] | None = None) -> AIMessage:
    """A plain text answer, with usage when ``tokens`` (input, output) is given."""
    return AIMessage(content=content, usage_metadata=usage(*tokens) if tokens else None)


def tool_call(
    name: str, args: dict[str, Any], *, id: str | None = None, tokens: tuple[int, int] | None = None
) -> AIMessage:
    """An answer calling one tool."""
    return tool_calls((name, args, id), tokens=tokens)


def tool_calls(*calls: tuple[str, dict[str, Any], str | None], tokens: tuple[int, int] | None = None) -> AIMessage:
    """An answer calling several tools: (name, args, id or None) each."""
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": call_id or f"call_{next(_ids)}", "type": "tool_call"}
            for name, args, call_id in calls
        ],
        usage_metadata=usage(*tokens) if tokens else None,
    )


class ScriptedChatModel(BaseChatModel):
    """Plays ``script`` one step per call (then ``default`` forever, if set) and records what it was sent."""

    script: list[Any] = Field(default_factory=list)
    default: Any = None
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)
    tool_choice: Any = None

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    @property
    def call_count(self) -> int:
        """How many times the model was called."""
        return len(self.calls)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> ScriptedChatModel:
        """Record the tools and return this model (the script decides what it calls)."""
        self.bound_tools = list(tools)
        self.tool_choice = tool_choice
        return self

    def _next_step(self, messages: list[BaseMessage]) -> Any:
        self.calls.append(list(messages))
        if self.script:
            return self.script.pop(0)
        if self.default is not None:
            return self.default
        raise ScriptExhausted(f"call {len(self.calls)}: nothing scripted")

    @staticmethod
    def _resolve(step: Any, messages: list[BaseMessage]) -> Any:
        while callable(step) and not isinstance(step, BaseException | type):
            step = step(messages)
        return step

    @staticmethod
    def _result(step: Any) -> ChatResult:
        if isinstance(step, BaseException):
            raise step
        message = AIMessage(content=step) if isinstance(step, str) else step
        if not isinstance(message, AIMessage):
            raise TypeError(f"cannot play step {step!r}")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self._resolve(self._next_step(messages), messages)
        while isinstance(step, Sleep):
            time.sleep(step.seconds)
            step = self._resolve(step.then, messages)
        return self._result(step)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = self._resolve(self._next_step(messages), messages)
        while isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            step = self._resolve(step.then, messages)
        return self._result(step)


def factory_for(models: dict[str, ScriptedChatModel]) -> Callable[[ModelSpec], BaseChatModel]:
    """A registry factory handing out the scripted model of each model name (a KeyError for others)."""

    def build(spec: ModelSpec) -> BaseChatModel:
        return models[spec.name]

    return build
