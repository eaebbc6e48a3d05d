"""The queue client against a scripted raw HTTP server: exact requests, retries and failures.

Each test scripts fal's answers in order and asserts what the server received: which paths, how
many requests, and that the billed submit went out exactly once whatever failed after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import fal_typed._handle
from fal_typed import (
    Completed,
    FalClient,
    FalConnectionError,
    InProgress,
    InternalServerError,
    NotFoundError,
    Queued,
    QueueTimeoutError,
    RequestCancelledError,
    RequestOutcomeUnknownError,
    UnprocessableEntityError,
)
from tests.reliability._server import Answer, RawServer, refusing_port

KEY = "queue-secret-key"
RID = "req-123"


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as s:
        yield s


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Queue back-off and poll waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(fal_typed._handle, "_sleep", waited.append)
    return waited


def client_for(server: RawServer, **kwargs: Any) -> FalClient:
    kwargs.setdefault("timeout", 5.0)
    return FalClient(KEY, base_url="http://127.0.0.1:9", queue_url=server.url, **kwargs)


def submitted(request_id: str = RID, **extra: Any) -> Answer:
    return Answer.json(200, {"request_id": request_id, "queue_position": 0, **extra})


def sse(*statuses: dict[str, Any], cut: bool = False) -> Answer:
    body = b"".join(b"data: " + json.dumps(s).encode() + b"\n\n" for s in statuses)
    headers = (("Content-Type", "text/event-stream"),)
    # A declared length longer than the body: the server closes mid-stream.
    return Answer(200, body, headers, content_length=len(body) + 50 if cut else None)


QUEUED = {"status": "IN_QUEUE", "queue_position": 2}
RUNNING = {"status": "IN_PROGRESS", "logs": None}
DONE = {"status": "COMPLETED", "metrics": {"inference_time": 1.5}}


def paths(server: RawServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests]


def test_subscribe_streams_status_and_fetches_result_once(server: RawServer) -> None:
    server.script(submitted(), sse(QUEUED, RUNNING, DONE), Answer.json(200, {"images": []}))
    seen: list[Any] = []
    enqueued: list[str] = []
    with client_for(server) as client:
        result = client.subscribe(
            "fal-ai/flux/dev",
            {"prompt": "a cat"},
            on_enqueue=enqueued.append,
            on_status=seen.append,
        )
    assert result == {"images": []}
    assert enqueued == [RID]
    assert seen == [Queued(2), InProgress(), Completed(metrics={"inference_time": 1.5})]
    # The subpath rule: submitted to fal-ai/flux/dev, followed under fal-ai/flux.
    assert paths(server) == [
        "POST /fal-ai/flux/dev",
        f"GET /fal-ai/flux/requests/{RID}/status/stream",
        f"GET /fal-ai/flux/requests/{RID}",
    ]
    submit, stream, _result_request = server.requests
    assert json.loads(submit.body) == {"prompt": "a cat"}
    assert all(r.headers["authorization"] == f"Key {KEY}" for r in server.requests)
    assert stream.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("endpoint_id", "app"),
    [
        ("fal-ai/fast-sdxl", "fal-ai/fast-sdxl"),
        ("fal-ai/flux-pro/v1.1-ultra", "fal-ai/flux-pro"),
        ("workflows/me/my-flow/sub", "workflows/me/my-flow"),
        ("comfy/me/graph", "comfy/me/graph"),
    ],
)
def test_app_rule_for_resumed_handles(server: RawServer, endpoint_id: str, app: str) -> None:
    server.script(Answer.json(200, {"status": "IN_QUEUE", "queue_position": 4}))
    with client_for(server) as client:
        assert client.get_handle(endpoint_id, RID).status() == Queued(4)
    assert paths(server) == [f"GET /{app}/requests/{RID}/status"]


def test_submit_options_are_sent(server: RawServer) -> None:
    server.script(submitted())
    with client_for(server) as client:
        handle = client.submit(
            "fal-ai/fast-sdxl",
            {"prompt": "x"},
            path="image-to-image",
            webhook_url="https://me.example/hook?a=1&b=2",
            priority="low",
            start_timeout=30,
            object_lifecycle=60,
        )
    assert handle.request_id == RID and handle.endpoint_id == "fal-ai/fast-sdxl"
    (request,) = server.requests
    assert request.path == (
        "/fal-ai/fast-sdxl/image-to-image?fal_webhook=https%3A%2F%2Fme.example%2Fhook%3Fa%3D1%26b%3D2"
    )
    assert request.headers["x-fal-queue-priority"] == "low"
    assert request.headers["x-fal-request-timeout"] == "30"
    assert json.loads(request.headers["x-fal-object-lifecycle-preference"]) == {
        "expiration_duration_seconds": 60
    }


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"webhook_url": "/relative/hook"}, "webhook_url"),
        ({"webhook_url": "ftp://me.example/hook"}, "webhook_url"),
        ({"webhook_url": 5}, "webhook_url"),
        ({"priority": "high"}, "priority"),
        ({"path": "../x"}, "path"),
        ({"start_timeout": 0}, "start_timeout"),
        ({"headers": {"X-Bad": "a\nb"}}, "X-Bad"),
    ],
)
def test_bad_submit_options_send_nothing(
    server: RawServer, kwargs: dict[str, Any], error: str
) -> None:
    with client_for(server) as client, pytest.raises((ValueError, TypeError), match=error):
        client.submit("fal-ai/fast-sdxl", {"prompt": "x"}, **kwargs)
    assert server.requests == []


def test_stream_cut_mid_job_reconnects_without_resubmitting(
    server: RawServer, waits: list[float]
) -> None:
    server.script(
        submitted(),
        sse(QUEUED, cut=True),
        sse(RUNNING, cut=True),
        sse(RUNNING, cut=True),
        sse(RUNNING, DONE),
        Answer.json(200, {"ok": 1}),
    )
    with client_for(server) as client:
        assert client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"}) == {"ok": 1}
    assert [r.method for r in server.requests].count("POST") == 1
    assert paths(server)[1:5] == [f"GET /fal-ai/fast-sdxl/requests/{RID}/status/stream"] * 4
    # A stream that brought news is reconnected at once; one that brought nothing backs off.
    assert len(waits) == 1


def test_stream_5xx_and_429_are_retried_with_retry_after(
    server: RawServer, waits: list[float]
) -> None:
    server.script(
        submitted(),
        Answer.json(503, {"detail": "busy"}),
        Answer.json(429, {"detail": "slow down"}, Retry_After="3"),
        sse(DONE),
        Answer.json(200, {"ok": 1}),
    )
    with client_for(server) as client:
        assert client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"}) == {"ok": 1}
    assert len(server.requests) == 5
    assert waits[1] == 3.0


def test_status_5xx_retried_then_raised(server: RawServer, waits: list[float]) -> None:
    server.script(*[Answer.json(500, {"detail": "oops"})] * 3)
    with client_for(server, max_retries=2) as client, pytest.raises(InternalServerError):
        client.get_handle("fal-ai/fast-sdxl", RID).status()
    assert len(server.requests) == 3 and len(waits) == 2


def test_lost_result_answer_is_fetched_again(server: RawServer, waits: list[float]) -> None:
    server.script(
        submitted(),
        sse(DONE),
        Answer(close=True),  # the result answer is lost
        Answer(200, b'{"images": [', content_length=100),  # and cut short
        Answer.json(200, {"images": []}),
    )
    with client_for(server) as client:
        assert client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"}) == {"images": []}
    assert [r.method for r in server.requests] == ["POST", "GET", "GET", "GET", "GET"]


@pytest.mark.parametrize("answer", [Answer(close=True), Answer(200, b"{", content_length=50)])
def test_submit_broken_after_sending_is_never_resent(server: RawServer, answer: Answer) -> None:
    server.script(answer)
    client = client_for(server, max_retries=3)
    with client, pytest.raises(RequestOutcomeUnknownError) as info:
        client.submit("fal-ai/fast-sdxl", {"prompt": "x"}, webhook_url="https://me.example/h")
    assert len(server.requests) == 1
    error = info.value
    assert error.operation == "submit" and error.sent_at is not None
    assert error.webhook_url == "https://me.example/h"
    assert "not submitted again" in str(error) and "webhook" in str(error)
    assert KEY not in str(error)


def test_submit_not_connected_is_retried() -> None:
    with (
        refusing_port() as url,
        FalClient(KEY, queue_url=url, max_retries=1) as client,
        pytest.raises(FalConnectionError, match="could not connect"),
    ):
        client.submit("fal-ai/fast-sdxl", {"prompt": "x"})


def test_submit_503_from_gateway_is_retried_and_queued_once(server: RawServer) -> None:
    server.script(Answer.text(503, "<html><title>busy</title></html>"), submitted())
    with client_for(server) as client:
        assert client.submit("fal-ai/fast-sdxl", {"prompt": "x"}).request_id == RID
    assert [r.method for r in server.requests] == ["POST", "POST"]


def test_failed_request_raises_the_typed_error_of_its_result(server: RawServer) -> None:
    detail = [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]
    server.script(
        submitted(),
        sse({"status": "COMPLETED", "error": "Unprocessable", "error_type": "validation"}),
        Answer.json(422, {"detail": detail}),
    )
    with client_for(server) as client, pytest.raises(UnprocessableEntityError) as info:
        client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"})
    assert info.value.detail == detail
    assert info.value.request_id == RID
    assert "body.prompt: Field required" in str(info.value)
    assert len(server.requests) == 3  # the error answer is final: not retried


def test_failed_request_5xx_result_is_not_retried(server: RawServer) -> None:
    server.script(
        submitted(),
        sse({"status": "COMPLETED", "error": "boom", "error_type": "runner_server_error"}),
        Answer.json(500, {"detail": "boom", "error_type": "runner_server_error"}),
    )
    with client_for(server) as client, pytest.raises(InternalServerError, match="boom"):
        client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"})
    assert len(server.requests) == 3


def test_cancelled_request_raises_request_cancelled(server: RawServer) -> None:
    server.script(
        submitted(), sse({"status": "COMPLETED", "error": "Request cancelled by the user"})
    )
    with client_for(server) as client, pytest.raises(RequestCancelledError) as info:
        client.subscribe("fal-ai/fast-sdxl", {"prompt": "x"})
    assert info.value.request_id == RID
    assert len(server.requests) == 2  # no result to fetch


def test_unknown_stored_id_is_not_found_naming_it(server: RawServer) -> None:
    server.script(Answer.json(404, {"detail": "Request not found"}))
    with client_for(server) as client, pytest.raises(NotFoundError) as info:
        client.get_handle("fal-ai/flux/dev", "gone-42").status()
    assert "gone-42" in str(info.value) and "fal-ai/flux" in str(info.value)
    assert len(server.requests) == 1


def test_stream_404_for_unknown_id_is_not_found(server: RawServer) -> None:
    server.script(Answer.json(404, {"detail": "nope"}), Answer.json(404, {"detail": "nope"}))
    with client_for(server) as client, pytest.raises(NotFoundError, match="gone"):
        client.get_handle("fal-ai/fast-sdxl", "gone").result()
    assert paths(server) == [
        "GET /fal-ai/fast-sdxl/requests/gone/status/stream",
        "GET /fal-ai/fast-sdxl/requests/gone/status",
    ]


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        (Answer.json(202, {"status": "CANCELLATION_REQUESTED"}), True),
        (Answer.json(400, {"status": "ALREADY_COMPLETED"}), False),
    ],
)
def test_cancel(server: RawServer, answer: Answer, accepted: bool) -> None:
    server.script(answer)
    with client_for(server) as client:
        assert client.get_handle("fal-ai/flux/dev", RID).cancel() is accepted
    assert paths(server) == [f"PUT /fal-ai/flux/requests/{RID}/cancel"]


def test_cancel_unknown_is_not_found(server: RawServer) -> None:
    server.script(Answer.json(404, {"status": "NOT_FOUND"}))
    with client_for(server) as client, pytest.raises(NotFoundError, match=RID):
        client.get_handle("fal-ai/flux/dev", RID).cancel()


def test_no_stream_falls_back_to_polling(server: RawServer, waits: list[float]) -> None:
    server.script(
        submitted(),
        Answer.json(405, {"detail": "Method Not Allowed"}),
        Answer.json(200, QUEUED),
        Answer.json(200, QUEUED),
        Answer.json(200, RUNNING),
        Answer.json(200, DONE),
        Answer.json(200, {"ok": 1}),
        # A second job on the same client polls at once: the stream is known to be missing.
        submitted("req-2"),
        Answer.json(200, DONE),
        Answer.json(200, {"ok": 2}),
    )
    seen: list[Any] = []
    with client_for(server) as client:
        assert client.subscribe("fal-ai/x", {}, on_status=seen.append) == {"ok": 1}
        assert client.subscribe("fal-ai/x", {}) == {"ok": 2}
    assert seen == [Queued(2), InProgress(), Completed(metrics={"inference_time": 1.5})]
    # The poll interval grows while nothing changes and starts again after a change.
    assert waits == [pytest.approx(0.05), pytest.approx(0.075), pytest.approx(0.05)]
    assert [p.split("/")[-1] for p in paths(server)[7:]] == ["x", "status", "req-2"]


def test_without_the_sse_extra_status_is_polled(
    server: RawServer, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_typed._handle, "HAVE_SSE", False)
    server.script(submitted(), Answer.json(200, DONE), Answer.json(200, {"ok": 1}))
    with client_for(server) as client:
        assert client.subscribe("fal-ai/x", {}) == {"ok": 1}
    assert paths(server)[1] == f"GET /fal-ai/x/requests/{RID}/status"


def test_client_timeout_cancels_and_names_the_request(server: RawServer) -> None:
    server.script(
        submitted(),
        Answer(
            200,
            b"data: " + json.dumps(QUEUED).encode() + b"\n\n",
            (("Content-Type", "text/event-stream"),),
            content_length=10_000,
            stall=5.0,
        ),
        Answer.json(202, {"status": "CANCELLATION_REQUESTED"}),
    )
    with client_for(server) as client, pytest.raises(QueueTimeoutError) as info:
        client.subscribe("fal-ai/x", {}, client_timeout=0.3)
    assert info.value.request_id == RID and info.value.cancelled
    assert RID in str(info.value)
    assert paths(server)[-1] == f"PUT /fal-ai/x/requests/{RID}/cancel"


def test_result_timeout_does_not_cancel(server: RawServer) -> None:
    server.script(
        Answer(
            200,
            b"",
            (("Content-Type", "text/event-stream"),),
            content_length=10_000,
            stall=5.0,
        )
    )
    with client_for(server) as client, pytest.raises(QueueTimeoutError) as info:
        client.get_handle("fal-ai/x", RID).result(timeout=0.2)
    assert not info.value.cancelled
    assert [r.method for r in server.requests] == ["GET"]


def test_urls_naming_another_host_never_get_the_key(server: RawServer) -> None:
    with RawServer() as other:
        server.script(
            submitted(
                status_url=f"{other.url}/steal/status",
                response_url=f"{other.url}/steal",
                cancel_url=f"{other.url}/steal/cancel",
            ),
            sse(DONE),
            Answer.json(200, {"ok": 1}),
        )
        with client_for(server) as client:
            assert client.subscribe("fal-ai/x", {}) == {"ok": 1}
        assert other.requests == []
    assert paths(server)[1] == f"GET /fal-ai/x/requests/{RID}/status/stream"


def test_urls_on_the_queue_host_are_used_as_given(server: RawServer) -> None:
    server.script(
        submitted(
            status_url=f"{server.url}/fal-ai/x/requests/{RID}/status",
            response_url=f"{server.url}/fal-ai/x/requests/{RID}/answer",
        ),
        sse(DONE),
        Answer.json(200, {"ok": 1}),
    )
    with client_for(server) as client:
        client.subscribe("fal-ai/x", {})
    assert paths(server)[2] == f"GET /fal-ai/x/requests/{RID}/answer"


@pytest.mark.parametrize("request_id", ["", "../x", "a/b", "a?b", "a b", "x" * 300])
def test_bad_request_ids_are_refused(request_id: str) -> None:
    with FalClient(KEY) as client, pytest.raises(ValueError, match="request_id"):
        client.get_handle("fal-ai/x", request_id)


def test_submit_answer_without_request_id(server: RawServer) -> None:
    server.script(Answer.json(200, {"status": "IN_QUEUE"}))
    with client_for(server) as client, pytest.raises(Exception, match="request_id"):
        client.submit("fal-ai/x", {})
    assert len(server.requests) == 1


def test_queue_host_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_QUEUE_RUN_HOST", "queue.example:8443")
    assert FalClient(KEY).queue_url == "https://queue.example:8443"
    monkeypatch.setenv("FAL_QUEUE_RUN_HOST", "http://127.0.0.1:9000/")
    assert FalClient(KEY).queue_url == "http://127.0.0.1:9000"
    monkeypatch.delenv("FAL_QUEUE_RUN_HOST")
    assert FalClient(KEY).queue_url == "https://queue.fal.run"
    with pytest.raises(ValueError, match="queue_url"):
        FalClient(KEY, queue_url="ftp://x")


def test_handle_repr_and_errors_hold_no_key(server: RawServer) -> None:
    server.script(Answer.json(500, {"detail": f"echo {KEY}"}))
    with client_for(server, max_retries=0) as client:
        handle = client.get_handle("fal-ai/x", RID)
        assert KEY not in repr(handle) and KEY not in repr(client)
        with pytest.raises(InternalServerError) as info:
            handle.status()
    assert KEY not in str(info.value) and KEY not in repr(info.value.body)
