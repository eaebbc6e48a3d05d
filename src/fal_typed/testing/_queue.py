"""The emulator's queue (``https://queue.fal.run``): a job store with a scheduler thread, the
queue server's routes, and webhooks on completion.

:class:`JobQueue` does the work; :class:`QueueMixin` is the public API ``FalEmulator`` gets
from it. Everything below runs under one lock (``JobQueue._lock``): each job has a condition
on it (woken on every change of the job, for status streams), and the scheduler thread sleeps
on another until the next timed event (a job becoming eligible, a log line, a completion, a
start timeout). Nothing polls.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs

import httpx

from ._answers import (
    ERROR_MESSAGES,
    Answer,
    RequestError,
    Routing,
    StreamCut,
    fault_answer,
    json_bytes,
    new_request_id,
    parse_lifecycle,
    parse_start_timeout,
)
from ._faults import DEFAULT_ERROR_TYPES
from ._webhooks import WEBHOOK_USER_ID, WebhookDelivery, WebhookSender, WebhookSigner

if TYPE_CHECKING:
    from ._emulator import FalEmulator, _Endpoint

__all__ = ["JWKS_PATH", "JobQueue", "QueueMixin", "QueueTiming", "app_id"]

JWKS_PATH = "/.well-known/jwks.json"
NAMESPACES = frozenset({"workflows", "comfy"})
DEFAULT_LOGS = ("Starting the runner.", "Running the model.")

IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"

_JOB_PATH = re.compile(
    r"/(?P<app>.+?)/requests/(?P<id>[^/]+)(?P<action>/status(?:/stream)?|/cancel)?/?"
)
_ROUTES = {None: "result", "/status": "status", "/status/stream": "stream", "/cancel": "cancel"}


def app_id(endpoint_id: str) -> str:
    """The ``{app}`` of queue URLs: the first two ``/``-parts of the endpoint id, or three
    when the first is a namespace (``workflows``, ``comfy``)."""
    parts = endpoint_id.strip("/").split("/")
    return "/".join(parts[: 3 if parts[0] in NAMESPACES else 2])


@dataclass(frozen=True)
class QueueTiming:
    """How the queue simulates one endpoint (see :meth:`QueueMixin.set_queue_timing`)."""

    queue_wait: float = 0.0
    """Simulated seconds a job stays in the queue at least, counted from submit."""
    run_time: float = 0.0
    """Simulated seconds a job runs."""
    concurrency: int = 1
    """How many jobs of the endpoint run at once."""
    logs: tuple[str, ...] = DEFAULT_LOGS
    """Runner log messages, spread evenly over the run (the first when it starts)."""

    def __post_init__(self) -> None:
        for name in ("queue_wait", "run_time"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if isinstance(self.concurrency, bool) or not (
            isinstance(self.concurrency, int) and self.concurrency >= 1
        ):
            raise ValueError(f"concurrency must be an integer >= 1, got {self.concurrency!r}")
        if isinstance(self.logs, str) or not all(isinstance(m, str) for m in self.logs):
            raise ValueError("logs must be a sequence of strings")


@dataclass(frozen=True)
class _Outcome:
    """How a job ends: the result route's answer, and what its status and webhook say."""

    status: int
    body: bytes
    payload: Any
    headers: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _Failure:
    endpoint_id: str | None
    outcome: _Outcome
    remaining: int


@dataclass(eq=False)
class _Lane:
    """The jobs of one endpoint: waiting ones in run order, and how many run."""

    endpoint_id: str
    waiting: list[_Job] = field(default_factory=list)
    running: int = 0


@dataclass(eq=False)
class _Job:
    request_id: str
    gateway_request_id: str
    endpoint_id: str
    app: str
    lane: _Lane
    order: tuple[int, int]
    """(priority, submit sequence): 0 is normal, 1 low."""
    outcome: _Outcome
    """Computed at submit (the output depends only on the input); revealed when the job ends.
    An invalid input (422) ends the job as soon as it starts."""
    webhook: str | None
    eligible_at: float
    urls: dict[str, str]
    changed: threading.Condition
    state: str = IN_QUEUE
    logs: list[dict[str, Any]] = field(default_factory=list)
    run_time: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: _Outcome | None = None


class JobQueue:
    """The queue's jobs, scheduler and routes, for one :class:`FalEmulator`."""

    def __init__(self, emulator: FalEmulator) -> None:
        self._emu = emulator
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._lanes: dict[str, _Lane] = {}
        self._heap: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._default = QueueTiming()
        self._timings: dict[str, dict[str, Any]] = {}
        self._failures: list[_Failure] = []
        self._stopped = True
        self._thread: threading.Thread | None = None
        self.url: str | None = None
        self.signer = WebhookSigner()
        self.sender = WebhookSender(self.signer, lambda: emulator.time_scale)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, url: str) -> None:
        with self._lock:
            self.url = url
            self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="fal-emulator-queue", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the scheduler, end every status stream and webhook delivery."""
        with self._lock:
            self._stopped, self.url = True, None
            self._wake.notify_all()
            for job in self._jobs.values():
                job.changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.sender.close()

    def reset(self) -> None:
        """Forget every job (their streams end), timing, pending failure and delivery."""
        with self._lock:
            for job in self._jobs.values():
                job.changed.notify_all()
            self._jobs.clear()
            self._lanes.clear()
            self._heap.clear()
            self._default = QueueTiming()
            self._timings.clear()
            self._failures.clear()
        self.sender.clear()

    # -- configuration ---------------------------------------------------------------------

    def set_timing(self, endpoint_id: str | None, changes: dict[str, Any]) -> None:
        with self._lock:
            if endpoint_id is None:
                self._default = replace(self._default, **changes)
            else:
                merged = {**self._timings.get(endpoint_id, {}), **changes}
                replace(self._default, **merged)  # validates
                self._timings[endpoint_id] = merged
            for lane in self._lanes.values():  # a larger concurrency may start jobs now
                self._at(time.monotonic(), functools.partial(self._dispatch, lane))

    def timing(self, endpoint_id: str | None) -> QueueTiming:
        with self._lock:
            return self._timing(endpoint_id)

    def _timing(self, endpoint_id: str | None) -> QueueTiming:
        if endpoint_id is None or endpoint_id not in self._timings:
            return self._default
        return replace(self._default, **self._timings[endpoint_id])

    def add_failure(self, endpoint_id: str | None, outcome: _Outcome, times: int) -> None:
        with self._lock:
            self._failures.append(_Failure(endpoint_id, outcome, times))

    def _take_failure(self, endpoint_id: str) -> _Outcome | None:
        for index, failure in enumerate(self._failures):
            if failure.endpoint_id in (None, endpoint_id):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[index]
                return failure.outcome
        return None

    # -- the scheduler ---------------------------------------------------------------------

    def _at(self, when: float, action: Callable[[float], None]) -> None:
        """Run ``action(now)`` on the scheduler thread at ``when`` (lock held)."""
        heapq.heappush(self._heap, (when, next(self._seq), action))
        if self._heap[0][2] is action:
            self._wake.notify()

    def _loop(self) -> None:
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    action = heapq.heappop(self._heap)[2]
                    try:
                        action(now)
                    except Exception as exc:  # pragma: no cover - a bug: keep the queue alive
                        if self._emu._log is not None:
                            self._emu._log(f"emulator queue error: {type(exc).__name__}: {exc}")
                    continue
                self._wake.wait(self._heap[0][0] - now if self._heap else None)

    def _scaled(self, seconds: float) -> float:
        return seconds * self._emu.time_scale

    def _dispatch(self, lane: _Lane, now: float) -> None:
        """Start the lane's next jobs while it has free slots (strict run order)."""
        if self._lanes.get(lane.endpoint_id) is not lane:
            return  # reset meanwhile
        concurrency = self._timing(lane.endpoint_id).concurrency
        started = False
        while lane.waiting and lane.running < concurrency:
            head = lane.waiting[0]
            if head.eligible_at > now:
                break  # its own event (scheduled at submit) dispatches again then
            lane.waiting.pop(0)
            self._start(head, now)
            started = True
        if started:
            self._moved(lane)

    def _moved(self, lane: _Lane) -> None:
        """The waiting jobs' positions changed: wake their streams."""
        for job in lane.waiting:
            job.changed.notify_all()

    def _start(self, job: _Job, now: float) -> None:
        lane = job.lane
        lane.running += 1
        job.state, job.started_at = IN_PROGRESS, now
        job.changed.notify_all()
        if job.outcome.status == 422:  # the runner rejects an invalid input at once
            job.run_time = 0.0
            self._at(now, lambda t: self._complete(job, t))
            return
        timing = self._timing(job.endpoint_id)
        job.run_time = float(timing.run_time)
        run = self._scaled(timing.run_time)
        count = len(timing.logs)
        for index, message in enumerate(timing.logs):
            self._at(now + run * index / count, functools.partial(self._log, job, message))
        self._at(now + run, lambda t: self._complete(job, t))

    def _log(self, job: _Job, message: str, now: float) -> None:
        if job.state == IN_PROGRESS:
            job.logs.append(
                {
                    "message": message,
                    "level": "INFO",
                    "source": "USER",
                    "timestamp": datetime.now(timezone.utc).isoformat(),
                }
            )
            job.changed.notify_all()

    def _complete(self, job: _Job, now: float) -> None:
        if job.state == IN_PROGRESS:
            self._finish(job, now, job.outcome)

    def _start_timeout(self, job: _Job, seconds: float, now: float) -> None:
        if job.state == IN_QUEUE:
            detail = f"No runner started within the start timeout of {seconds:g} s."
            self._finish(job, now, _error_outcome(504, "startup_timeout", detail))

    def _finish(self, job: _Job, now: float, outcome: _Outcome) -> None:
        """End a job (queued or running) with ``outcome``; sends its webhook."""
        lane = job.lane
        if job.state == IN_QUEUE:
            index = bisect.bisect_left(lane.waiting, job.order, key=lambda j: j.order)
            if index < len(lane.waiting) and lane.waiting[index] is job:
                del lane.waiting[index]
                self._moved(lane)
        elif job.state == IN_PROGRESS:
            lane.running -= 1
            self._at(now, lambda t: self._dispatch(lane, t))
        else:
            return
        job.state, job.finished_at, job.result = COMPLETED, now, outcome
        job.changed.notify_all()
        if job.webhook is not None and self._jobs.get(job.request_id) is job:
            self.sender.send(job.webhook, job.request_id, _webhook_body(job, outcome))

    # -- routes ----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        split: SplitResult,
        headers: httpx.Headers,
        body: bytes,
        request_id: str,
        info: Routing,
    ) -> Answer:
        """Answer one request to the queue server (raises ``RequestError`` for fal errors)."""
        if split.path == JWKS_PATH:  # public, like fal's
            if method != "GET":
                raise RequestError(405, "method_not_allowed", "Method Not Allowed")
            return Answer(200, json_bytes(self.signer.jwks()), request_id=request_id)
        self._emu._check_auth(headers.get("authorization"))
        match = _JOB_PATH.fullmatch(split.path)
        if match is not None:  # never a submit, even by POST
            return self._job_route(method, match, split.query, request_id, info)
        return self._submit(method, split, headers, body, request_id, info)

    def _submit(
        self,
        method: str,
        split: SplitResult,
        headers: httpx.Headers,
        body: bytes,
        request_id: str,
        info: Routing,
    ) -> Answer:
        emu = self._emu
        route = emu._route(split.path)
        if route is None:
            raise RequestError(404, "not_found", f"Endpoint {split.path.strip('/')!r} not found.")
        if method != "POST":
            raise RequestError(405, "method_not_allowed", "Method Not Allowed")
        endpoint, subpath = route
        endpoint_id = endpoint.document.endpoint_id
        info.endpoint_id, info.subpath = endpoint_id, subpath
        info.start_timeout = parse_start_timeout(headers.get_list("x-fal-request-timeout"))
        info.lifecycle_seconds = parse_lifecycle(
            headers.get_list("x-fal-object-lifecycle-preference")
        )
        priority = _parse_priority(headers.get_list("x-fal-queue-priority"))
        webhook = _parse_webhook(split.query)
        called = split.path.strip("/")
        if subpath is not None:
            called = called[: -len(subpath)].rstrip("/")

        fault = info.fault = emu._take_fault(endpoint_id, "submit")
        if fault is not None:
            emu._sleep(fault.delay)
            if fault.close_connection and not fault.after_enqueue:
                return Answer(0, close=True)
            if fault.status is not None or fault.html_gateway_error is not None:
                answer = fault_answer(fault, request_id)
                assert answer is not None
                return answer

        outcome = self._outcome(endpoint, subpath, body)  # outside the lock: may take a while
        job_id = new_request_id()
        app = app_id(called)
        base = f"{self.url}/{app}/requests/{job_id}"
        urls = {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }
        with self._lock:
            outcome = self._take_failure(endpoint_id) or outcome
            lane = self._lanes.get(endpoint_id)
            if lane is None:
                lane = self._lanes[endpoint_id] = _Lane(endpoint_id)
            now = time.monotonic()
            job = _Job(
                request_id=job_id,
                gateway_request_id=new_request_id(),
                endpoint_id=endpoint_id,
                app=app,
                lane=lane,
                order=(priority, next(self._seq)),
                outcome=outcome,
                webhook=webhook,
                eligible_at=now + self._scaled(self._timing(endpoint_id).queue_wait),
                urls=urls,
                changed=threading.Condition(self._lock),
            )
            self._jobs[job_id] = job
            bisect.insort(lane.waiting, job, key=lambda j: j.order)
            self._moved(lane)
            position = lane.waiting.index(job)
            self._at(job.eligible_at, lambda t: self._dispatch(lane, t))
            timeout = info.start_timeout
            if timeout is not None:
                deadline = now + self._scaled(timeout)
                self._at(deadline, lambda t: self._start_timeout(job, timeout, t))
        if fault is not None and (fault.close_connection or fault.malformed_json):
            answer = fault_answer(fault, job_id)  # queued, but the answer is lost or broken
            assert answer is not None
            return answer
        answer_body = {
            "request_id": job_id,
            **urls,
            "queue_position": position,
            "gateway_request_id": job.gateway_request_id,
        }
        return Answer(200, json_bytes(answer_body), request_id=job_id)

    def _outcome(self, endpoint: _Endpoint, subpath: str | None, body: bytes) -> _Outcome:
        answer = self._emu._evaluate(endpoint, subpath, body, None)
        payload = json.loads(answer.body)
        if answer.status == 200:
            return _Outcome(200, answer.body, payload)
        detail = payload.get("detail") if isinstance(payload, dict) else None
        error = "Invalid input"
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            first = detail[0]
            where = ".".join(str(part) for part in first.get("loc", []))
            error = f"Invalid input: {where}: {first.get('msg')}"
            if len(detail) > 1:
                error += f" (and {len(detail) - 1} more)"
        elif isinstance(detail, str):
            error = detail
        error_type = payload.get("error_type") if isinstance(payload, dict) else None
        return _Outcome(answer.status, answer.body, payload, answer.headers, error, error_type)

    def _job_route(
        self, method: str, match: re.Match[str], query: str, request_id: str, info: Routing
    ) -> Answer:
        route = _ROUTES[match["action"]]
        if method != ("PUT" if route == "cancel" else "GET"):
            raise RequestError(405, "method_not_allowed", "Method Not Allowed")
        job_id = match["id"]
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.app != match["app"]:
            if route == "cancel":
                return Answer(404, json_bytes({"status": "NOT_FOUND"}), request_id=request_id)
            raise RequestError(404, "not_found", f"Request {job_id!r} not found.")
        info.endpoint_id = job.endpoint_id
        fault = info.fault = self._emu._take_fault(job.endpoint_id, route)
        if fault is not None:
            self._emu._sleep(fault.delay)
            if fault.cut_after_events is None:
                answer = fault_answer(fault, job_id)
                if answer is not None:
                    return answer
        logs = parse_qs(query).get("logs", ["0"])[-1].lower() in ("1", "true")
        if route == "status":
            with self._lock:
                status = self._status(job, logs)
            code = 200 if status["status"] == COMPLETED else 202
            return Answer(code, json_bytes(status), request_id=job_id)
        if route == "stream":
            cut = None if fault is None else fault.cut_after_events
            return Answer(
                200,
                content_type="text/event-stream",
                headers=(("Cache-Control", "no-cache"),),
                request_id=job_id,
                stream=self._events(job, logs, cut),
            )
        if route == "result":
            with self._lock:
                result = job.result
            if result is None:
                body = json_bytes({"detail": "Request is still in progress"})
                return Answer(400, body, request_id=job_id)
            return Answer(result.status, result.body, result.headers, request_id=job_id)
        with self._lock:  # cancel
            if job.state == COMPLETED:
                body = json_bytes({"status": "ALREADY_COMPLETED"})
                return Answer(400, body, request_id=job_id)
            self._finish(job, time.monotonic(), _CANCELLED)
        return Answer(202, json_bytes({"status": "CANCELLATION_REQUESTED"}), request_id=job_id)

    def _status(self, job: _Job, logs: bool) -> dict[str, Any]:
        status: dict[str, Any] = {"status": job.state, "request_id": job.request_id}
        if job.state == IN_QUEUE:
            status["queue_position"] = job.lane.waiting.index(job)
        else:
            status["logs"] = [dict(entry) for entry in job.logs] if logs else None
        if job.state == COMPLETED:
            metrics: dict[str, Any] = {}
            if job.started_at is not None and job.finished_at is not None:
                scale = self._emu.time_scale
                elapsed = (job.finished_at - job.started_at) / scale if scale > 0 else 0.0
                if job.result is not None and job.result is job.outcome:
                    elapsed = job.run_time or 0.0  # ran to its end: the configured run time
                metrics["inference_time"] = round(elapsed, 6)
            status["metrics"] = metrics
            result = job.result
            if result is not None and not result.ok:
                status["error"] = result.error
                if result.error_type is not None:
                    status["error_type"] = result.error_type
        status.update(job.urls)
        return status

    def _events(self, job: _Job, logs: bool, cut: int | None) -> Generator[bytes, None, None]:
        """The status stream: the current status at once, then one event per change."""
        if cut == 0:
            raise StreamCut
        last: dict[str, Any] | None = None
        sent = 0
        while True:
            with self._lock:
                while True:
                    if self._stopped or self._jobs.get(job.request_id) is not job:
                        raise StreamCut  # the emulator stops, or was reset
                    status = self._status(job, logs)
                    if status != last:
                        break
                    job.changed.wait()
            yield b"data: " + json_bytes(status) + b"\n\n"
            sent, last = sent + 1, status
            if status["status"] == COMPLETED:
                return
            if cut is not None and sent >= cut:
                raise StreamCut


def _error_outcome(
    status: int, error_type: str | None, detail: str, headers: Iterable[tuple[str, str]] = ()
) -> _Outcome:
    payload: dict[str, Any] = {"detail": detail}
    extra = list(headers)
    if error_type is not None:
        payload["error_type"] = error_type
        extra.append(("X-Fal-Error-Type", error_type))
    return _Outcome(status, json_bytes(payload), payload, tuple(extra), detail, error_type)


_CANCELLED = _error_outcome(400, "client_cancelled", "Request was cancelled by the client.")


def _webhook_body(job: _Job, outcome: _Outcome) -> bytes:
    body: dict[str, Any] = {
        "request_id": job.request_id,
        "gateway_request_id": job.gateway_request_id,
        "status": "OK" if outcome.ok else "ERROR",
        "payload": outcome.payload,
    }
    if not outcome.ok:
        body["error"] = f"Invalid status code: {outcome.status}"
    return json_bytes(body)


def _parse_priority(values: list[str]) -> int:
    if not values:
        return 0
    raw = values[-1].strip()
    if len(values) > 1 or raw not in ("normal", "low"):
        raise RequestError(
            400,
            "bad_request",
            f"Invalid X-Fal-Queue-Priority header {values[-1]!r}: expected 'normal' or 'low'.",
        )
    return 0 if raw == "normal" else 1


def _parse_webhook(query: str) -> str | None:
    values = parse_qs(query).get("fal_webhook")
    if not values:
        return None
    url = values[-1]
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise RequestError(
            400, "bad_request", f"Invalid fal_webhook {url!r}: expected an absolute http(s) URL."
        )
    return url


class QueueMixin:
    """The queue's public API on :class:`FalEmulator` (see its docstring)."""

    _queue: JobQueue

    @property
    def queue_url(self) -> str:
        """The queue server's base URL (fal's ``https://queue.fal.run``), e.g.
        ``http://127.0.0.1:54322``; FalClient's ``queue_url``."""
        if self._queue.url is None:
            raise RuntimeError("the emulator is not running: use it as a context manager")
        return self._queue.url

    @property
    def jwks_url(self) -> str:
        """The URL of the JWKS with the webhook signing key (fal's
        ``https://rest.alpha.fal.ai/.well-known/jwks.json``), served by the queue server."""
        return self.queue_url + JWKS_PATH

    @property
    def jwks(self) -> dict[str, Any]:
        """The JWKS served at :attr:`jwks_url`: ``{"keys": [{"kty": "OKP", "crv": "Ed25519",
        "x", "kid"}]}``."""
        return self._queue.signer.jwks()

    def set_queue_timing(
        self,
        endpoint_id: str | None = None,
        *,
        queue_wait: float | None = None,
        run_time: float | None = None,
        concurrency: int | None = None,
        logs: Iterable[str] | None = None,
    ) -> None:
        """Change how the queue simulates an endpoint, or (None) every endpoint by default.

        Only the given arguments change; an endpoint's own settings override the default
        ones field by field. Times are simulated seconds (times ``time_scale``). Takes effect
        for jobs submitted (``queue_wait``) or started (``run_time``, ``logs``) afterwards;
        ``concurrency`` at once. See :class:`QueueTiming`.
        """
        changes: dict[str, Any] = {}
        if queue_wait is not None:
            changes["queue_wait"] = queue_wait
        if run_time is not None:
            changes["run_time"] = run_time
        if concurrency is not None:
            changes["concurrency"] = concurrency
        if logs is not None:
            if isinstance(logs, str):
                raise ValueError("logs must be a sequence of strings, not one string")
            changes["logs"] = tuple(logs)
        resolved = None if endpoint_id is None else self._queue_endpoint_id(endpoint_id)
        self._queue.set_timing(resolved, changes)

    def queue_timing(self, endpoint_id: str | None = None) -> QueueTiming:
        """The queue timing in effect for an endpoint (None: the default)."""
        resolved = None if endpoint_id is None else self._queue_endpoint_id(endpoint_id)
        return self._queue.timing(resolved)

    def fail_next_job(
        self,
        endpoint_id: str | None = None,
        *,
        status: int = 500,
        error_type: str | None = None,
        detail: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` queue submissions (for an endpoint, or any) fail in the
        runner: they queue and run as usual, then complete with ``status`` (400-599) and
        fal's error body ``{"detail", "error_type"}``. ``error_type`` defaults from
        ``DEFAULT_ERROR_TYPES``, ``detail`` from the error type. Cleared by ``reset()``.
        """
        if isinstance(status, bool) or not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError(f"status must be 400-599, got {status!r}")
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        kind = error_type or DEFAULT_ERROR_TYPES.get(status)
        message = detail or ERROR_MESSAGES.get(kind or "", f"Injected runner error {status}.")
        resolved = None if endpoint_id is None else self._queue_endpoint_id(endpoint_id)
        self._queue.add_failure(resolved, _error_outcome(status, kind, message), times)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, oldest first (a copy)."""
        return self._queue.sender.deliveries

    def wait_for_webhooks(self, count: int = 1, *, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Wait until at least ``count`` delivery attempts are recorded; returns them all.

        Raises ``TimeoutError`` after ``timeout`` real seconds.
        """
        return self._queue.sender.wait(count, timeout)

    def sign_webhook(
        self,
        body: bytes,
        *,
        request_id: str,
        timestamp: int | None = None,
        user_id: str = WEBHOOK_USER_ID,
    ) -> dict[str, str]:
        """The ``X-Fal-Webhook-*`` headers the emulator would send with ``body`` (signed with
        its key; ``timestamp`` defaults to now), for tests of webhook receivers."""
        return self._queue.signer.sign(
            body, request_id=request_id, timestamp=timestamp, user_id=user_id
        )

    def _queue_endpoint_id(self, endpoint_id: str) -> str:
        return self._endpoint(endpoint_id).document.endpoint_id

    def _endpoint(self, endpoint_id: str) -> _Endpoint:
        raise NotImplementedError  # FalEmulator's: resolves ids and aliases, KeyError if none
