"""In-process recorder of LangSmith's run-ingestion API for tests (never touches the network).

It serves what ``langsmith.Client`` calls while tracing, on 127.0.0.1 (ephemeral port by default) in
a background thread with its own event loop, so it works from sync and async tests alike:

- ``GET /info``: a complete ``batch_ingest_config`` (a partial one crashes the client's background
  thread and ``Client.flush()`` then waits forever) and ``instance_flags.zstd_compression_enabled``;
- ``POST /runs/multipart``: the multipart form (``post.<id>``, ``post.<id>.inputs``, ``patch.<id>``,
  ``patch.<id>.outputs``, ``.extra``, ``.events``, ``.error``, ``.serialized``,
  ``attachment.<id>.<name>``, ``feedback.<id>``), plain or ``Content-Encoding: zstd`` / ``gzip``;
- ``POST /runs/batch`` (``{"post": [...], "patch": [...]}``), ``POST /runs`` and ``PATCH /runs/{id}``.

Posts and patches are merged into one dict per run id (``recorder.runs``); every decoded request body
is kept too (``recorder.payload_text()``), e.g. to assert that some secret never left the process.

    with LangSmithRecorder() as recorder:        # or: async with LangSmithRecorder() as recorder
        client = langsmith.Client(api_url=recorder.base_url, api_key="test")
        ...
        recorder.wait_for(lambda r: len(r.traces()) == 1, timeout=5)   # or: await recorder.wait_for_async(...)
        [root] = recorder.traces()
        assert [run["name"] for run in recorder.children(root["id"])] == [...]

``ingest="batch"`` makes ``/info`` ask for ``/runs/batch`` instead of multipart; ``zstd=False`` turns
compression off (the client then sends plain multipart).

Run standalone with ``python -m tests.fakes.langsmith_recorder --port 1984``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import io
import json
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Self

from aiohttp import web

from tests.fakes.threaded import ThreadedAiohttpServer

__all__ = ["LangSmithRecorder", "RecordedRequest"]

_RUN_FIELDS = ("inputs", "outputs", "events", "extra", "error", "serialized")
_NAME = re.compile(r'name="([^"]*)"')
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


@dataclass
class RecordedRequest:
    """One request as the recorder received it (body already decompressed)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "zstd":
        import zstandard  # a dependency of langsmith itself

        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
            return reader.read()
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    raise ValueError(f"unsupported Content-Encoding: {encoding}")


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str, bytes]]:
    """Split a multipart/form-data body into ``(name, content_type, data)`` parts."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise ValueError(f"no boundary in Content-Type: {content_type!r}")
    delimiter = b"--" + match.group(1).encode()
    parts: list[tuple[str, str, bytes]] = []
    for segment in body.split(delimiter)[1:]:
        if segment.startswith(b"--"):
            break  # closing delimiter
        segment = segment.removeprefix(b"\r\n")
        head, separator, data = segment.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without a header/body separator")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name_match = _NAME.search(headers.get("content-disposition", ""))
        if name_match is None:
            raise ValueError(f"multipart part without a name: {head!r}")
        parts.append((name_match.group(1), headers.get("content-type", ""), data))
    return parts


def _multipart_ops(
    parts: list[tuple[str, str, bytes]],
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]], dict[str, dict[str, bytes]]]:
    """Group multipart parts into run operations (in arrival order), feedback and attachments."""
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    feedback: list[dict[str, Any]] = []
    attachments: dict[str, dict[str, bytes]] = {}
    for name, _content_type, data in parts:
        kind, _, rest = name.partition(".")
        if kind in ("post", "patch"):
            run_id, _, field_name = rest.partition(".")
            op = ops.setdefault((kind, run_id), {})
            if field_name:
                op[field_name] = json.loads(data)
            else:
                op.update(json.loads(data))
        elif kind == "feedback":
            feedback.append(json.loads(data))
        elif kind == "attachment":
            run_id, _, attachment = rest.partition(".")
            attachments.setdefault(run_id, {})[attachment] = data
        else:
            raise ValueError(f"unexpected multipart part {name!r}")
    return [(kind, op | {"id": op.get("id", run_id)}) for (kind, run_id), op in ops.items()], feedback, attachments


class LangSmithRecorder(ThreadedAiohttpServer):
    """Fake LangSmith ingestion endpoints that record runs; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ingest: Literal["multipart", "batch"] = "multipart",
        zstd: bool = True,
        info: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(host=host, port=port)
        self.info_payload: dict[str, Any] = (
            info
            if info is not None
            else {
                "version": "0.0.0-recorder",
                "license_expiration_time": None,
                # All of BatchIngestConfig's keys or none: the client indexes several of them directly.
                "batch_ingest_config": {
                    "use_multipart_endpoint": ingest == "multipart",
                    "scale_up_qsize_trigger": 1000,
                    "scale_up_nthreads_limit": 16,
                    "scale_down_nempty_trigger": 4,
                    "size_limit": 100,
                    "size_limit_bytes": 20_971_520,
                },
                "instance_flags": {"zstd_compression_enabled": zstd},
            }
        )

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._runs: dict[str, dict[str, Any]] = {}
        self._ops: list[tuple[str, dict[str, Any]]] = []
        self._requests: list[RecordedRequest] = []
        self._feedback: list[dict[str, Any]] = []
        self._attachments: dict[str, dict[str, bytes]] = {}
        self._errors: list[str] = []
        self._delay = 0.0
        self._datasets: dict[str, dict[str, Any]] = {}
        self._examples: dict[str, list[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ lifecycle

    thread_name = "langsmith-recorder"

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/info", self._handle_info)
        app.router.add_post("/runs/multipart", self._handle_multipart)
        app.router.add_post("/runs/batch", self._handle_batch)
        app.router.add_post("/runs", self._handle_create)
        app.router.add_patch("/runs/{run_id}", self._handle_update)
        app.router.add_post("/feedback", self._handle_feedback)
        app.router.add_post("/datasets", self._handle_create_dataset)
        app.router.add_get("/datasets", self._handle_list_datasets)
        app.router.add_post("/v1/platform/datasets/{dataset_id}/examples", self._handle_examples)
        app.router.add_post("/examples/bulk", self._handle_examples_bulk)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    def _runner_options(self) -> dict[str, Any]:
        # The client sends zstd, which aiohttp only decodes with backports.zstd: decode it ourselves.
        return {"auto_decompress": False}

    # ------------------------------------------------------------------ properties

    @property
    def base_url(self) -> str:
        """The API URL to give ``langsmith.Client(api_url=...)``, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        """Snapshot: run id -> the run with all its posts and patches merged, in arrival order."""
        with self._lock:
            return deepcopy(self._runs)

    @property
    def ops(self) -> list[tuple[str, dict[str, Any]]]:
        """Snapshot of every run operation as received: ``("post" | "patch", payload)``."""
        with self._lock:
            return deepcopy(self._ops)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request (``/info`` included), bodies decompressed."""
        with self._lock:
            return list(self._requests)

    @property
    def feedback(self) -> list[dict[str, Any]]:
        """Snapshot of feedback parts received through multipart."""
        with self._lock:
            return deepcopy(self._feedback)

    @property
    def datasets(self) -> dict[str, dict[str, Any]]:
        """Snapshot: dataset id -> the dataset, with its ``examples`` (``inputs``/``outputs``/``metadata``)."""
        with self._lock:
            return {
                dataset_id: {**deepcopy(dataset), "examples": deepcopy(self._examples.get(dataset_id, []))}
                for dataset_id, dataset in self._datasets.items()
            }

    @property
    def attachments(self) -> dict[str, dict[str, bytes]]:
        """Snapshot: run id -> attachment name -> bytes."""
        with self._lock:
            return {run_id: dict(files) for run_id, files in self._attachments.items()}

    @property
    def errors(self) -> list[str]:
        """Requests the recorder could not parse (each answered with a 400)."""
        with self._lock:
            return list(self._errors)

    # ------------------------------------------------------------------ queries

    def traces(self) -> list[dict[str, Any]]:
        """Root runs (no parent), oldest first."""
        return sorted(
            (run for run in self.runs.values() if not run.get("parent_run_id")),
            key=lambda run: str(run.get("dotted_order") or run.get("start_time") or ""),
        )

    def children(self, run_id: str) -> list[dict[str, Any]]:
        """Direct children of ``run_id``, in execution order."""
        run_id = str(run_id)
        return sorted(
            (run for run in self.runs.values() if str(run.get("parent_run_id")) == run_id),
            key=lambda run: str(run.get("dotted_order") or run.get("start_time") or ""),
        )

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Every run of one trace, in execution order."""
        trace_id = str(trace_id)
        return sorted(
            (run for run in self.runs.values() if str(run.get("trace_id")) == trace_id),
            key=lambda run: str(run.get("dotted_order") or ""),
        )

    def ops_for(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The operations received for one run, in arrival order."""
        run_id = str(run_id)
        return [(kind, payload) for kind, payload in self.ops if str(payload.get("id")) == run_id]

    def payload_text(self) -> str:
        """Every ingestion request body received so far, decoded, joined (for leak checks)."""
        with self._lock:
            bodies = [r.body for r in self._requests if r.path.startswith("/runs")]
        return "\n".join(body.decode("utf-8", errors="replace") for body in bodies)

    def wait_for(self, predicate: Callable[[LangSmithRecorder], bool], timeout: float = 5.0) -> Self:
        """Block until ``predicate(self)`` holds (re-checked on each request); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with self._lock:
                    seen = [(r.method, r.path, r.status) for r in self._requests]
                    raise TimeoutError(
                        f"condition not met within {timeout}s; runs: {len(self._runs)}, requests: {seen}, "
                        f"errors: {self._errors}"
                    )
            with self._changed:
                self._changed.wait(min(remaining, 0.05))
        return self

    async def wait_for_async(self, predicate: Callable[[LangSmithRecorder], bool], timeout: float = 5.0) -> Self:  # noqa: ASYNC109
        """``wait_for`` without blocking the running event loop."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def delay(self, seconds: float) -> None:
        """Answer each ingestion request ``seconds`` late (0 disables); its runs are recorded at once."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._delay = float(seconds)

    def reset(self) -> None:
        """Forget everything recorded and clear the delay."""
        with self._changed:
            self._runs.clear()
            self._ops.clear()
            self._requests.clear()
            self._feedback.clear()
            self._attachments.clear()
            self._errors.clear()
            self._delay = 0.0
            self._changed.notify_all()

    # ------------------------------------------------------------------ recording

    def _apply(self, kind: str, payload: dict[str, Any]) -> None:
        """Merge one post or patch into ``_runs`` (caller holds the lock)."""
        self._ops.append((kind, deepcopy(payload)))
        run_id = str(payload["id"])
        run = self._runs.setdefault(run_id, {"id": run_id})
        for key, value in payload.items():
            if value is None and kind == "patch":
                continue  # a patch's unset fields are sent as null
            if key == "extra" and isinstance(value, dict) and isinstance(run.get("extra"), dict):
                metadata = {**(run["extra"].get("metadata") or {}), **(value.get("metadata") or {})}
                run["extra"] = {**run["extra"], **value, "metadata": metadata}
            elif key == "id":
                continue
            else:
                run[key] = deepcopy(value)

    async def _record(self, request: web.Request) -> tuple[RecordedRequest, Exception | None]:
        raw = await request.read()
        error: Exception | None = None
        try:
            body = _decompress(raw, request.headers.get("Content-Encoding", ""))
        except Exception as exc:  # zstd/zlib errors have their own classes
            body, error = raw, exc
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={key.lower(): value for key, value in request.headers.items()},
            body=body,
        )
        with self._changed:
            self._requests.append(recorded)
        return recorded, error

    def _done(self, recorded: RecordedRequest, response: web.Response) -> web.Response:
        with self._changed:
            recorded.status = response.status
            self._changed.notify_all()
        return response

    # ------------------------------------------------------------------ handlers

    async def _handle_info(self, request: web.Request) -> web.Response:
        recorded, _ = await self._record(request)
        return self._done(recorded, web.json_response(self.info_payload))

    async def _handle_multipart(self, request: web.Request) -> web.Response:
        def parse(body: bytes) -> list[tuple[str, dict[str, Any]]]:
            ops, feedback, attachments = _multipart_ops(parse_multipart(body, request.headers.get("Content-Type", "")))
            with self._lock:
                self._feedback.extend(feedback)
                for run_id, files in attachments.items():
                    self._attachments.setdefault(run_id, {}).update(files)
            return ops

        return await self._ingest(request, parse)

    async def _handle_batch(self, request: web.Request) -> web.Response:
        def parse(body: bytes) -> list[tuple[str, dict[str, Any]]]:
            batch = json.loads(body)
            return [(kind, payload) for kind in ("post", "patch") for payload in batch.get(kind) or []]

        return await self._ingest(request, parse)

    async def _handle_create(self, request: web.Request) -> web.Response:
        return await self._ingest(request, lambda body: [("post", json.loads(body))])

    async def _handle_update(self, request: web.Request) -> web.Response:
        run_id = request.match_info["run_id"]
        return await self._ingest(request, lambda body: [("patch", {**json.loads(body), "id": run_id})])

    async def _ingest(
        self, request: web.Request, parse: Callable[[bytes], list[tuple[str, dict[str, Any]]]]
    ) -> web.Response:
        """Record the request, parse it into run operations and merge them; 400 if it does not parse."""
        recorded, error = await self._record(request)
        try:
            if error is not None:
                raise error
            ops = parse(recorded.body)
            for _kind, payload in ops:
                if not isinstance(payload, dict) or not payload.get("id"):
                    raise ValueError(f"run operation without an id: {payload!r}")
        except Exception as exc:
            with self._lock:
                self._errors.append(f"{recorded.method} {recorded.path}: {exc!r}")
            return self._done(recorded, web.json_response({"detail": str(exc)}, status=400))
        with self._changed:
            for kind, payload in ops:
                self._apply(kind, payload)
            delay = self._delay
            self._changed.notify_all()
        if delay > 0:
            await asyncio.sleep(delay)
        return self._done(recorded, web.json_response({}, status=202))

    async def _handle_feedback(self, request: web.Request) -> web.Response:
        """``Client.create_feedback`` without batching: one JSON feedback, kept with the multipart ones."""
        recorded, _ = await self._record(request)
        try:
            feedback = json.loads(recorded.body)
        except ValueError as exc:
            with self._lock:
                self._errors.append(f"POST /feedback: {exc!r}")
            return self._done(recorded, web.json_response({"detail": str(exc)}, status=400))
        with self._changed:
            self._feedback.append(feedback)
        return self._done(recorded, web.json_response(feedback))

    async def _handle_create_dataset(self, request: web.Request) -> web.Response:
        recorded, _ = await self._record(request)
        body = json.loads(recorded.body)
        dataset = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "description": body.get("description"),
            "data_type": body.get("data_type", "kv"),
            "created_at": datetime.now(UTC).isoformat(),
            "metadata": (body.get("extra") or {}).get("metadata"),
        }
        with self._changed:
            self._datasets[dataset["id"]] = dataset
        return self._done(recorded, web.json_response(dataset))

    async def _handle_list_datasets(self, request: web.Request) -> web.Response:
        recorded, _ = await self._record(request)
        name = request.query.get("name")
        with self._lock:
            found = [deepcopy(d) for d in self._datasets.values() if name is None or d["name"] == name]
        return self._done(recorded, web.json_response(found))

    async def _handle_examples(self, request: web.Request) -> web.Response:
        """``Client.create_examples``: a multipart form of ``<id>``, ``<id>.inputs``, ``<id>.outputs`` parts."""
        recorded, _ = await self._record(request)
        dataset_id = request.match_info["dataset_id"]
        examples: dict[str, dict[str, Any]] = {}
        for name, _content_type, data in parse_multipart(recorded.body, request.headers.get("Content-Type", "")):
            example_id, _, field_name = name.partition(".")
            example = examples.setdefault(example_id, {"id": example_id})
            if field_name:
                example[field_name] = json.loads(data)
            else:
                example.update(json.loads(data))
        with self._changed:
            known = dataset_id in self._datasets
            if known:
                self._examples.setdefault(dataset_id, []).extend(examples.values())
        if not known:
            return self._done(recorded, web.json_response({"detail": "no such dataset"}, status=404))
        return self._done(recorded, web.json_response({"example_ids": list(examples), "count": len(examples)}))

    async def _handle_examples_bulk(self, request: web.Request) -> web.Response:
        """``Client.create_examples`` on deployments without multipart examples: a JSON list with ``dataset_id``."""
        recorded, _ = await self._record(request)
        examples = json.loads(recorded.body)
        with self._changed:
            unknown = [e.get("dataset_id") for e in examples if e.get("dataset_id") not in self._datasets]
            if not unknown:
                for example in examples:
                    self._examples.setdefault(example["dataset_id"], []).append(example)
        if unknown:
            return self._done(recorded, web.json_response({"detail": f"no such datasets {unknown}"}, status=404))
        return self._done(recorded, web.json_response([{"id": e.get("id")} for e in examples]))

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        recorded, _ = await self._record(request)
        return self._done(recorded, web.json_response({"detail": "Not found (LangSmithRecorder)"}, status=404))


def main() -> None:
    """Run the recorder standalone until interrupted, printing its base URL; prints runs on exit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ingest", choices=["multipart", "batch"], default="multipart")
    parser.add_argument("--no-zstd", action="store_true")
    args = parser.parse_args()
    recorder = LangSmithRecorder(port=args.port, ingest=args.ingest, zstd=not args.no_zstd)
    with recorder:
        print(json.dumps({"base_url": recorder.base_url}), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        print(json.dumps(recorder.runs, indent=2, default=str), flush=True)


if __name__ == "__main__":
    main()
