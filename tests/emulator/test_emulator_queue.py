"""The emulator's queue server (fal's ``queue.fal.run``), driven with plain httpx."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from fal_typed.testing import FalEmulator, Fault
from fal_typed.testing._queue import app_id

from .conftest import KEY, SCHEMAS

SDXL = "fal-ai/fast-sdxl"
FLUX = "fal-ai/flux/dev"
BODY = {"prompt": "a cat"}
AUTH = {"Authorization": f"Key {KEY}"}


@pytest.fixture
def queue(emu: FalEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.queue_url, headers=AUTH, timeout=10.0) as client:
        yield client


def submit(
    queue: httpx.Client, endpoint: str = SDXL, body: Any = None, **kw: Any
) -> dict[str, Any]:
    response = queue.post(f"/{endpoint}", json=BODY if body is None else body, **kw)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def events(queue: httpx.Client, status_url: str, logs: bool = False) -> list[dict[str, Any]]:
    """Every event of the status stream, which must end properly after COMPLETED."""
    found = []
    params = {"logs": "1"} if logs else None
    with queue.stream("GET", f"{status_url}/stream", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        for line in response.iter_lines():
            if line:
                assert line.startswith("data: ")
                found.append(json.loads(line[len("data: ") :]))
    assert found and found[-1]["status"] == "COMPLETED"
    return found


def wait_done(queue: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    return events(queue, job["status_url"])[-1]


# -- submit and routing ----------------------------------------------------------------------


def test_submit_answers_urls_under_the_app(emu: FalEmulator, queue: httpx.Client) -> None:
    response = queue.post(f"/{FLUX}", json=BODY)
    assert response.status_code == 200
    job = response.json()
    rid = job["request_id"]
    assert set(job) == {
        "request_id",
        "response_url",
        "status_url",
        "cancel_url",
        "queue_position",
        "gateway_request_id",
    }
    base = f"{emu.queue_url}/fal-ai/flux/requests/{rid}"
    assert job["response_url"] == base
    assert job["status_url"] == f"{base}/status"
    assert job["cancel_url"] == f"{base}/cancel"
    assert job["queue_position"] == 0
    assert job["gateway_request_id"] and job["gateway_request_id"] != rid
    assert response.headers["x-fal-request-id"] == rid
    recorded = emu.requests[-1]
    assert (recorded.server, recorded.endpoint_id, recorded.subpath) == ("queue", FLUX, None)
    assert recorded.request_id == rid and recorded.status == 200
    assert recorded.json == BODY


def test_submit_with_subpath_uses_the_longest_endpoint_id(
    emu: FalEmulator, queue: httpx.Client
) -> None:
    job = submit(queue, f"{SDXL}/some/sub")
    assert job["status_url"].startswith(f"{emu.queue_url}/{SDXL}/requests/")
    recorded = emu.requests[-1]
    assert (recorded.endpoint_id, recorded.subpath) == (SDXL, "some/sub")
    assert wait_done(queue, job)["status"] == "COMPLETED"
    result = queue.get(job["response_url"]).json()
    assert result == emu.output_for(SDXL, BODY, "some/sub")


def test_app_rule() -> None:
    assert app_id("fal-ai/flux/dev") == "fal-ai/flux"
    assert app_id("fal-ai/fast-sdxl") == "fal-ai/fast-sdxl"
    assert app_id("workflows/me/flow/sub") == "workflows/me/flow"
    assert app_id("comfy/me/flow") == "comfy/me/flow"


def test_namespace_app_keeps_three_parts(tmp_path: Path) -> None:
    text = (SCHEMAS / "fal-ai" / "fast-sdxl.json").read_text().replace(SDXL, "workflows/me/flow")
    (tmp_path / "flow.json").write_text(text)
    with FalEmulator(schemas=[tmp_path], key=KEY) as emu, httpx.Client(headers=AUTH) as http:
        job = http.post(f"{emu.queue_url}/workflows/me/flow", json=BODY).json()
        assert job["status_url"].startswith(f"{emu.queue_url}/workflows/me/flow/requests/")
        assert http.get(job["status_url"]).status_code in (200, 202)


def test_unknown_endpoint_and_wrong_method(queue: httpx.Client) -> None:
    assert queue.post("/fal-ai/nope", json=BODY).status_code == 404
    assert queue.get(f"/{SDXL}").status_code == 405
    job = submit(queue)
    assert queue.post(job["cancel_url"]).status_code == 405  # not a submit with a subpath
    assert queue.get(job["cancel_url"]).status_code == 405
    assert queue.put(job["status_url"]).status_code == 405


def test_sync_requests_are_recorded_on_the_run_server(emu: FalEmulator, http: httpx.Client) -> None:
    assert http.post(f"/{SDXL}", json=BODY).status_code == 200
    assert emu.requests[-1].server == "run"
    with emu.client() as client:
        assert client.queue_url == emu.queue_url


def test_submit_headers_are_checked(queue: httpx.Client) -> None:
    bad = [
        {"X-Fal-Request-Timeout": "0.5"},
        {"X-Fal-Object-Lifecycle-Preference": "{}"},
        {"X-Fal-Queue-Priority": "high"},
    ]
    for headers in bad:
        response = queue.post(f"/{SDXL}", json=BODY, headers=headers)
        assert response.status_code == 400, headers
        assert response.json()["error_type"] == "bad_request"
    ok = {
        "X-Fal-Request-Timeout": "30",
        "X-Fal-Object-Lifecycle-Preference": '{"expiration_duration_seconds": 60}',
        "X-Fal-Queue-Priority": "low",
        "X-Fal-Runner-Hint": "runner-7",
    }
    assert queue.post(f"/{SDXL}", json=BODY, headers=ok).status_code == 200
    response = queue.post(f"/{SDXL}?fal_webhook=ftp://x/y", json=BODY)
    assert response.status_code == 400


def test_submit_records_headers(emu: FalEmulator, queue: httpx.Client) -> None:
    headers = {
        "X-Fal-Request-Timeout": "30",
        "X-Fal-Object-Lifecycle-Preference": '{"expiration_duration_seconds": 60}',
    }
    submit(queue, headers=headers)
    recorded = emu.requests[-1]
    assert recorded.start_timeout == 30 and recorded.lifecycle_seconds == 60


def test_auth_is_checked_like_the_run_server(emu: FalEmulator, queue: httpx.Client) -> None:
    job = submit(queue)
    with httpx.Client(base_url=emu.queue_url) as anonymous:
        assert anonymous.post(f"/{SDXL}", json=BODY).status_code == 401
        wrong = {"Authorization": "Key other"}
        assert anonymous.post(f"/{SDXL}", json=BODY, headers=wrong).status_code == 403
        assert anonymous.get(job["status_url"]).status_code == 401
        assert anonymous.get(job["response_url"], headers=wrong).status_code == 403
        assert anonymous.put(job["cancel_url"]).status_code == 401
        jwks = anonymous.get("/.well-known/jwks.json")  # public
        assert jwks.status_code == 200 and jwks.json() == emu.jwks
    assert emu.jwks_url == f"{emu.queue_url}/.well-known/jwks.json"


# -- status, stream and result ---------------------------------------------------------------


def test_status_with_and_without_logs(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, logs=["loading", "sampling"])
    job = submit(queue)
    wait_done(queue, job)
    plain = queue.get(job["status_url"])
    assert plain.status_code == 200
    status = plain.json()
    assert status["status"] == "COMPLETED" and status["logs"] is None
    assert status["request_id"] == job["request_id"]
    assert {status[k] for k in ("response_url", "status_url", "cancel_url")} == {
        job["response_url"],
        job["status_url"],
        job["cancel_url"],
    }
    assert status["metrics"] == {"inference_time": 0.0}
    assert "error" not in status and "error_type" not in status
    logs = queue.get(job["status_url"], params={"logs": 1}).json()["logs"]
    assert [entry["message"] for entry in logs] == ["loading", "sampling"]
    assert all(set(entry) == {"message", "level", "source", "timestamp"} for entry in logs)


def test_positions_count_down_with_concurrency_one(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=3.0, run_time=0.5, concurrency=1)
    jobs = [submit(queue) for _ in range(3)]
    assert [job["queue_position"] for job in jobs] == [0, 1, 2]
    status = queue.get(jobs[2]["status_url"])
    assert status.status_code == 202
    assert status.json()["status"] == "IN_QUEUE" and "logs" not in status.json()
    seen = events(queue, jobs[2]["status_url"])
    positions = [e["queue_position"] for e in seen if e["status"] == "IN_QUEUE"]
    assert positions == [2, 1, 0]
    assert [e["status"] for e in seen][-2:] == ["IN_PROGRESS", "COMPLETED"]
    for job in jobs[:2]:  # the earlier ones completed first
        assert queue.get(job["status_url"]).json()["status"] == "COMPLETED"


def test_concurrency_runs_jobs_side_by_side(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, run_time=3.0, concurrency=2)
    assert emu.queue_timing(SDXL).concurrency == 2
    assert emu.queue_timing().concurrency == 1
    first, second, third = (submit(queue) for _ in range(3))
    for job in (first, second):
        seen = []
        with queue.stream("GET", f"{job['status_url']}/stream") as response:
            for line in response.iter_lines():
                if line:
                    seen.append(json.loads(line[6:])["status"])
                    if seen[-1] == "IN_PROGRESS":
                        break
    status = queue.get(third["status_url"]).json()  # both slots are taken
    assert (status["status"], status["queue_position"]) == ("IN_QUEUE", 0)
    queue.put(first["cancel_url"])
    assert [e["status"] for e in events(queue, third["status_url"])][-1] == "COMPLETED"


def test_low_priority_runs_after_normal(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    low = submit(queue, headers={"X-Fal-Queue-Priority": "low"})
    normal = submit(queue, headers={"X-Fal-Queue-Priority": "normal"})
    assert (low["queue_position"], normal["queue_position"]) == (0, 0)
    assert queue.get(low["status_url"]).json()["queue_position"] == 1


def test_logs_appear_progressively(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, run_time=3.0, logs=["one", "two", "three"])
    job = submit(queue)
    seen = events(queue, job["status_url"], logs=True)
    counts = [len(e["logs"]) for e in seen if e["status"] == "IN_PROGRESS"]
    assert counts == [1, 2, 3]
    assert seen[-1]["metrics"] == {"inference_time": 3.0}
    # Without logs, the log lines are no change: IN_PROGRESS is sent once.
    job = submit(queue)
    statuses = [e["status"] for e in events(queue, job["status_url"])]
    assert statuses.count("IN_PROGRESS") == 1


def test_stream_of_a_completed_job_is_one_event(queue: httpx.Client) -> None:
    job = submit(queue)
    wait_done(queue, job)
    assert len(events(queue, job["status_url"])) == 1
    assert queue.get(job["status_url"]).status_code == 200  # the connection is reusable


def test_result_matches_the_synchronous_answer(
    emu: FalEmulator, queue: httpx.Client, http: httpx.Client
) -> None:
    job = submit(queue, FLUX)
    wait_done(queue, job)
    result = queue.get(job["response_url"])
    assert result.status_code == 200
    assert result.headers["x-fal-request-id"] == job["request_id"]
    assert result.json() == http.post(f"/{FLUX}", json=BODY).json()
    assert result.json() == emu.output_for(FLUX, BODY)


def test_result_before_completion(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    job = submit(queue)
    response = queue.get(job["response_url"])
    assert response.status_code == 400
    assert response.json() == {"detail": "Request is still in progress"}


def test_invalid_input_is_accepted_then_completes_with_422(
    emu: FalEmulator, queue: httpx.Client
) -> None:
    job = submit(queue, body={"prompt": 5})  # validated when the job runs
    done = wait_done(queue, job)
    assert done["error"].startswith("Invalid input: body.prompt")
    result = queue.get(job["response_url"])
    assert result.status_code == 422
    detail = result.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"] == ["body", "prompt"]


def test_unknown_ids_and_other_apps_answer_404(queue: httpx.Client) -> None:
    job = submit(queue)
    other = job["status_url"].replace(SDXL, "fal-ai/flux")
    assert queue.get(other).status_code == 404
    assert queue.get(other.removesuffix("/status")).status_code == 404
    cancel = queue.put(job["cancel_url"].replace(SDXL, "fal-ai/flux"))
    assert (cancel.status_code, cancel.json()) == (404, {"status": "NOT_FOUND"})
    unknown = f"/{SDXL}/requests/00000000-0000-0000-0000-000000000000"
    assert queue.get(f"{unknown}/status").status_code == 404
    assert queue.get(f"{unknown}/status/stream").status_code == 404
    assert queue.get(unknown).status_code == 404
    assert queue.put(f"{unknown}/cancel").json() == {"status": "NOT_FOUND"}


def test_flux_apps_share_request_urls(queue: httpx.Client) -> None:
    job = submit(queue, "fal-ai/flux/schnell")
    assert "/fal-ai/flux/requests/" in job["status_url"]
    wait_done(queue, job)


def test_start_timeout_completes_a_job_still_queued(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    job = submit(queue, headers={"X-Fal-Request-Timeout": "1"})
    done = wait_done(queue, job)
    assert done["error_type"] == "startup_timeout" and done["metrics"] == {}
    assert queue.get(job["response_url"]).status_code == 504


def test_failed_runner(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.fail_next_job(SDXL, status=500, detail="CUDA out of memory")
    failed, fine = submit(queue), submit(queue)
    done = wait_done(queue, failed)
    assert (done["error"], done["error_type"]) == ("CUDA out of memory", "runner_server_error")
    result = queue.get(failed["response_url"])
    assert result.status_code == 500
    assert result.json() == {"detail": "CUDA out of memory", "error_type": "runner_server_error"}
    assert result.headers["x-fal-error-type"] == "runner_server_error"
    assert "error" not in wait_done(queue, fine)
    with pytest.raises(ValueError, match="400-599"):
        emu.fail_next_job(status=200)
    with pytest.raises(KeyError):
        emu.fail_next_job("fal-ai/nope")


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_a_queued_job(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    job = submit(queue)
    response = queue.put(job["cancel_url"])
    assert (response.status_code, response.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = queue.get(job["status_url"]).json()
    assert status["status"] == "COMPLETED" and status["error_type"] == "client_cancelled"
    assert status["metrics"] == {}
    result = queue.get(job["response_url"])
    assert result.status_code == 400 and result.json()["error_type"] == "client_cancelled"
    again = queue.put(job["cancel_url"])
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})


def test_cancel_a_running_job(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, run_time=100.0)
    job = submit(queue)
    follower: list[list[dict[str, Any]]] = []
    thread = threading.Thread(target=lambda: follower.append(events(queue, job["status_url"])))
    thread.start()
    deadline = time.monotonic() + 5
    while queue.get(job["status_url"]).json()["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert queue.put(job["cancel_url"]).status_code == 202
    thread.join(5)
    assert follower and follower[0][-1]["error_type"] == "client_cancelled"
    assert follower[0][-1]["metrics"]["inference_time"] < 100


def test_cancel_a_completed_job(queue: httpx.Client) -> None:
    job = submit(queue)
    wait_done(queue, job)
    response = queue.put(job["cancel_url"])
    assert (response.status_code, response.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert queue.get(job["response_url"]).status_code == 200


# -- webhooks --------------------------------------------------------------------------------


class Receiver:
    """A tiny webhook receiver answering the scripted statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[httpx.Headers, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((httpx.Headers(list(self.headers.items())), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(jwks: dict[str, Any], headers: httpx.Headers | Mapping[str, str], body: bytes) -> bool:
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    headers = httpx.Headers(headers)
    x = jwks["keys"][0]["x"]
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    message = "\n".join(
        [
            headers["x-fal-webhook-request-id"],
            headers["x-fal-webhook-user-id"],
            headers["x-fal-webhook-timestamp"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    try:
        key.verify(bytes.fromhex(headers["x-fal-webhook-signature"]), message.encode())
    except InvalidSignature:
        return False
    return True


def test_webhook_is_delivered_signed(emu: FalEmulator, queue: httpx.Client) -> None:
    with Receiver() as receiver:
        job = submit(queue, params={"fal_webhook": receiver.url})
        [delivery] = emu.wait_for_webhooks(1)
        assert (delivery.url, delivery.status, delivery.attempt) == (receiver.url, 200, 1)
        [(headers, body)] = receiver.received
    assert body == delivery.body
    assert "authorization" not in headers
    assert headers["content-type"] == "application/json"
    assert headers["x-fal-webhook-request-id"] == job["request_id"]
    assert headers["x-fal-webhook-user-id"]
    assert abs(int(headers["x-fal-webhook-timestamp"]) - time.time()) < 60
    jwks = queue.get(emu.jwks_url).json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    assert verify(jwks, headers, body)
    assert not verify(jwks, headers, body + b" ")
    data = json.loads(body)
    assert data == {
        "request_id": job["request_id"],
        "gateway_request_id": job["gateway_request_id"],
        "status": "OK",
        "payload": queue.get(job["response_url"]).json(),
    }


def test_webhook_of_a_failed_job_is_retried(emu: FalEmulator, queue: httpx.Client) -> None:
    with Receiver([500]) as receiver:
        submit(queue, body={"prompt": 5}, params={"fal_webhook": receiver.url})
        first, second = emu.wait_for_webhooks(2)
    assert (first.status, first.attempt, second.status, second.attempt) == (500, 1, 200, 2)
    data = json.loads(second.body)
    assert data["status"] == "ERROR" and data["error"] == "Invalid status code: 422"
    assert data["payload"]["detail"][0]["loc"] == ["body", "prompt"]
    assert first.body == second.body and verify(emu.jwks, second.headers, second.body)


def test_webhook_to_nowhere_records_the_error(emu: FalEmulator, queue: httpx.Client) -> None:
    with Receiver() as receiver:
        url = receiver.url
    submit(queue, params={"fal_webhook": url})  # encoded by httpx
    deliveries = emu.wait_for_webhooks(3)
    assert [d.status for d in deliveries] == [None, None, None]
    assert all(d.error for d in deliveries)
    with pytest.raises(TimeoutError):
        emu.wait_for_webhooks(4, timeout=0.05)


def test_webhook_url_in_the_query_string(emu: FalEmulator, queue: httpx.Client) -> None:
    with Receiver() as receiver:
        response = queue.post(f"/{SDXL}?fal_webhook={quote(receiver.url, safe='')}", json=BODY)
        assert response.status_code == 200
        [delivery] = emu.wait_for_webhooks(1)
    assert delivery.url == receiver.url


def test_sign_webhook_lets_tests_tamper(emu: FalEmulator) -> None:
    body = b'{"request_id": "r1", "status": "OK"}'
    headers = emu.sign_webhook(body, request_id="r1", timestamp=1_700_000_000)
    assert headers["X-Fal-Webhook-Timestamp"] == "1700000000"
    assert headers["X-Fal-Webhook-Request-Id"] == "r1"
    assert verify(emu.jwks, headers, body)
    assert not verify(emu.jwks, {**headers, "X-Fal-Webhook-Request-Id": "r2"}, body)
    assert not verify(emu.jwks, headers, body.replace(b"OK", b"KO"))


# -- faults ----------------------------------------------------------------------------------


def test_submit_fault_closes_before_enqueueing(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    emu.inject(SDXL, route="submit", close_connection=True)
    with pytest.raises(httpx.RemoteProtocolError):
        queue.post(f"/{SDXL}", json=BODY)
    assert emu.requests[-1].status is None and emu.requests[-1].fault is not None
    assert submit(queue)["queue_position"] == 0  # nothing was queued


def test_submit_fault_closes_after_enqueueing(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    emu.inject(SDXL, route="submit", close_connection=True, after_enqueue=True)
    with pytest.raises(httpx.RemoteProtocolError):
        queue.post(f"/{SDXL}", json=BODY)
    assert submit(queue)["queue_position"] == 1  # the lost one is ahead


def test_submit_status_faults(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.inject(route="submit", status=503, retry_after="1")
    emu.inject(route="submit", html_gateway_error=502)
    emu.inject(route="submit", malformed_json=True)
    response = queue.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error_type"] == "runner_scheduling_failure"
    response = queue.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 502 and "text/html" in response.headers["content-type"]
    response = queue.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert not emu.pending_faults


def test_status_result_and_cancel_faults(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=5.0)
    job = submit(queue)
    emu.inject(SDXL, route="status", status=503, retry_after="2")
    emu.inject(SDXL, route="result", status=500)
    emu.inject(SDXL, route="cancel", status=504, times=2)
    response = queue.get(job["status_url"])
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert queue.get(job["status_url"]).status_code == 202
    assert queue.get(job["response_url"]).status_code == 500
    assert queue.get(job["response_url"]).status_code == 400  # still in progress
    assert queue.put(job["cancel_url"]).status_code == 504
    assert queue.put(job["cancel_url"]).status_code == 504
    assert queue.get(job["status_url"]).json()["status"] == "IN_QUEUE"  # not cancelled
    assert queue.put(job["cancel_url"]).status_code == 202
    recorded = [r for r in emu.requests if r.fault is not None]
    assert [r.fault.route for r in recorded if r.fault] == [
        "status",
        "result",
        "cancel",
        "cancel",
    ]


def test_status_fault_close_and_html(emu: FalEmulator, queue: httpx.Client) -> None:
    job = submit(queue)
    emu.inject(route="status", close_connection=True)
    emu.inject(route="result", html_gateway_error=504)
    with pytest.raises(httpx.RemoteProtocolError):
        queue.get(job["status_url"])
    response = queue.get(job["response_url"])
    assert response.status_code == 504 and "x-fal-request-id" not in response.headers


def test_unknown_ids_consume_no_fault(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.inject(route="status", status=503)
    assert queue.get(f"/{SDXL}/requests/nope/status").status_code == 404
    assert len(emu.pending_faults) == 1


def test_queue_faults_do_not_touch_the_run_server(emu: FalEmulator, http: httpx.Client) -> None:
    emu.inject(SDXL, route="submit", status=503)
    assert http.post(f"/{SDXL}", json=BODY).status_code == 200
    assert len(emu.pending_faults) == 1


def test_stream_cut_after_events(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=1.0, run_time=1.0)
    job = submit(queue)
    emu.inject(SDXL, route="stream", cut_after_events=1)
    seen = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        queue.stream("GET", f"{job['status_url']}/stream") as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                seen.append(json.loads(line[6:]))
    assert [e["status"] for e in seen] == ["IN_QUEUE"]
    assert emu.requests[-1].fault is not None
    # The next stream is whole.
    assert events(queue, job["status_url"])[-1]["status"] == "COMPLETED"


def test_stream_cut_at_zero_and_past_completion(emu: FalEmulator, queue: httpx.Client) -> None:
    job = submit(queue)
    wait_done(queue, job)
    emu.inject(route="stream", cut_after_events=0)
    with (
        pytest.raises(httpx.RemoteProtocolError),
        queue.stream("GET", f"{job['status_url']}/stream") as response,
    ):
        response.read()
    emu.inject(route="stream", cut_after_events=5)  # completes within 5 events: ends normally
    assert len(events(queue, job["status_url"])) == 1


def test_stream_status_and_close_faults(emu: FalEmulator, queue: httpx.Client) -> None:
    job = submit(queue)
    emu.inject(route="stream", status=503, retry_after="1")
    emu.inject(route="stream", close_connection=True)
    response = queue.get(f"{job['status_url']}/stream")
    assert response.status_code == 503 and response.json()["error_type"]
    with pytest.raises(httpx.RemoteProtocolError):
        queue.get(f"{job['status_url']}/stream")


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="route must be one of"):
        Fault(status=500, route="nope")
    with pytest.raises(ValueError, match="cut_after_events applies to route='stream'"):
        Fault(cut_after_events=1)
    with pytest.raises(ValueError, match="cut_after_events must be >= 0"):
        Fault(cut_after_events=-1, route="stream")
    with pytest.raises(ValueError, match="after_enqueue needs"):
        Fault(status=500, route="submit", after_enqueue=True)
    with pytest.raises(ValueError, match="after_enqueue needs"):
        Fault(close_connection=True, after_enqueue=True)
    with pytest.raises(ValueError, match="malformed_json does not apply"):
        Fault(malformed_json=True, route="stream")
    with pytest.raises(ValueError, match="one kind"):
        Fault(status=500, cut_after_events=1, route="stream")
    assert Fault(route="stream", cut_after_events=0).cut_after_events == 0


# -- timing configuration, reset, efficiency -------------------------------------------------


def test_set_queue_timing_validates(emu: FalEmulator) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        emu.set_queue_timing(concurrency=0)
    with pytest.raises(ValueError, match="run_time"):
        emu.set_queue_timing(SDXL, run_time=-1)
    with pytest.raises(ValueError, match="logs"):
        emu.set_queue_timing(logs="one string")
    with pytest.raises(KeyError):
        emu.set_queue_timing("fal-ai/nope", run_time=1)
    emu.set_queue_timing(run_time=2.0)
    emu.set_queue_timing(SDXL, concurrency=3)
    timing = emu.queue_timing(SDXL)
    assert (timing.run_time, timing.concurrency, timing.queue_wait) == (2.0, 3, 0.0)
    assert emu.queue_timing(FLUX).concurrency == 1


def test_reset_forgets_jobs_and_timings(emu: FalEmulator, queue: httpx.Client) -> None:
    emu.set_queue_timing(SDXL, queue_wait=50.0)
    emu.fail_next_job()
    job = submit(queue)
    follower: list[BaseException] = []

    def follow() -> None:
        try:
            events(queue, job["status_url"])
        except BaseException as exc:
            follower.append(exc)

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.05)
    emu.reset()
    thread.join(5)
    assert not thread.is_alive() and follower  # the stream was cut
    assert queue.get(job["status_url"]).status_code == 404
    assert emu.queue_timing(SDXL).queue_wait == 0.0
    assert "error" not in wait_done(queue, submit(queue))  # the failure was forgotten
    assert emu.webhook_deliveries == []


def test_many_jobs_from_many_threads_finish_quickly(emu: FalEmulator) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with httpx.Client(base_url=emu.queue_url, headers=AUTH, timeout=10) as client:
                jobs = [submit(client) for _ in range(25)]
                for job in jobs:
                    assert wait_done(client, job)["status"] == "COMPLETED"
                    assert client.get(job["response_url"]).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[0]
    assert time.monotonic() - started < 30  # about 1 s here; a sanity bound, not a benchmark


def test_close_ends_open_streams() -> None:
    with FalEmulator(schemas=[SCHEMAS / "fal-ai" / "fast-sdxl.json"], key=KEY) as emu:
        emu.set_queue_timing(queue_wait=1000)
        client = httpx.Client(base_url=emu.queue_url, headers=AUTH, timeout=10)
        job = submit(client)
        failures: list[BaseException] = []

        def follow() -> None:
            try:
                events(client, job["status_url"])
            except BaseException as exc:
                failures.append(exc)

        thread = threading.Thread(target=follow)
        thread.start()
        time.sleep(0.05)
    thread.join(5)
    client.close()
    assert not thread.is_alive() and failures
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.queue_url
