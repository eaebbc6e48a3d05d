"""A canary key never leaks: not in reprs, error messages, error args or attributes, exception
chains (``__cause__``/``__context__`` and the httpx exceptions inside), formatted tracebacks,
log records of any logger at DEBUG, or the emulator's logs, whatever the server does, including
echoing the key back in every place an answer can carry text.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fal_typed import Endpoint, FalClient, FalError
from fal_typed.models.fal_ai.fast_sdxl import ENDPOINT as FAST_SDXL
from fal_typed.models.fal_ai.fast_sdxl import fast_sdxl
from fal_typed.testing import FalEmulator

from ._server import Answer, RawServer, refusing_port, unanswered_port
from .conftest import CANARY, SCHEMAS
from .test_fault_matrix import LOCATIONS, MATRIX, TIMEOUT

ECHO = f"Invalid key: Key {CANARY}"
KEY_ID, KEY_SECRET = "key-id-1234", "secret-part-" + CANARY

# Answers that quote the key back in every place an answer can carry text.
ECHOES = [
    Answer.json(401, {"detail": ECHO, "error_type": "unauthorized"}, x_fal_request_id="r"),
    Answer.json(403, {"detail": ECHO}, x_fal_error_type=ECHO, x_fal_request_id=CANARY),
    Answer.json(422, {"detail": [{"loc": ["body", CANARY], "msg": ECHO, "type": "x"}]}),
    Answer.json(400, {"detail": {"nested": [ECHO, {CANARY: CANARY}]}, "error_type": CANARY}),
    Answer.text(503, f"<html><title>{ECHO}</title></html>", x_fal_request_id="r"),
    Answer.text(500, f"<p>{ECHO}</p>" * 10, x_fal_request_id="r"),
    Answer(500, ECHO.encode(), (("Content-Type", "text/plain"), ("x-fal-request-id", "r"))),
    Answer(307, b"", (("Location", f"http://127.0.0.1:9/?key={CANARY}"),)),
    Answer(200, f'{{"detail": "{ECHO}"'.encode(), (("x-fal-request-id", CANARY),)),
    Answer(200, f"<html><title>{ECHO}</title></html>".encode()),
    Answer(429, b"{}", (("Retry-After", CANARY), ("x-fal-request-id", "r"))),
]


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string reachable in ``value`` (containers and plain objects), and its repr."""
    if depth > 6:
        return
    yield repr(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, depth + 1)
            yield from _strings(v, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def assert_no_canary(error: BaseException, *secrets: str) -> None:
    secrets = secrets or (CANARY,)
    texts = ["".join(traceback.format_exception(type(error), error, error.__traceback__))]
    for link in _chain(error):
        texts += [str(link), repr(link), *_strings(link.args)]
        attributes = dict(vars(link))
        response = attributes.pop("response", None)  # an httpx.Response, checked below
        request = attributes.pop("_request", None) or getattr(link, "request", None)
        texts += list(_strings(attributes))
        # ``response`` is the raw answer, as the server sent it (echoes included): only its
        # repr and its request are checked.
        if response is not None:
            texts.append(repr(response))
            request = response.request
        if request is not None:
            texts += [repr(request), repr(request.headers), str(request.url)]
        if isinstance(request, httpx.Request):
            # The key is in the request httpx keeps; it shows only as "[secure]".
            assert "[secure]" in repr(request.headers)
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked by {type(error).__name__}: {text!r}"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # the root logger: httpx and httpcore too
    yield caplog
    formatter = logging.Formatter()
    names = {record.name.split(".")[0] for record in caplog.records}
    for record in caplog.records:
        texts = [record.getMessage(), *_strings(record.args)]
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
        for text in texts:
            assert CANARY not in text, f"leaked in a {record.name} log record: {text!r}"
    assert caplog.records == [] or "fal_typed" in names


def _errors_from(answers: list[Answer], client: FalClient, server: RawServer) -> list[FalError]:
    errors: list[FalError] = []
    for answer in answers:
        server.clear_script()
        server.script(*([answer] * 5))
        try:
            client.run("fal-ai/fast-sdxl", {"prompt": "p"})
        except FalError as exc:
            errors.append(exc)
    return errors


def test_reprs() -> None:
    with FalClient(CANARY) as client:
        for text in (repr(client), str(client), repr(FAST_SDXL), str(FAST_SDXL)):
            assert CANARY not in text
    endpoint: Endpoint[Any, Any] = FAST_SDXL
    assert CANARY not in repr(endpoint.build_input(prompt="p"))


def test_every_fault_of_the_matrix(
    sleeps: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    answers = [answer for case in MATRIX for answer in case.answers[:1]]
    with RawServer() as server, FalClient(CANARY, base_url=server.url, timeout=TIMEOUT) as client:
        errors = _errors_from(answers, client, server)
    assert len(errors) >= sum(case.error is not None for case in MATRIX)
    for error in errors:
        assert_no_canary(error)


@pytest.mark.parametrize("answer", ECHOES, ids=lambda a: f"{a.status}")
def test_echoed_key_is_scrubbed(
    answer: Answer, sleeps: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with RawServer() as server, FalClient(CANARY, base_url=server.url, timeout=TIMEOUT) as client:
        [error] = _errors_from([answer], client, server)
    assert server.requests[0].headers["authorization"] == f"Key {CANARY}"  # it was sent
    assert_no_canary(error)
    assert "***" in str(error) or error.__class__.__name__ == "RateLimitError"


def test_echoed_key_in_an_answer_that_fails_output_validation(
    sleeps: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    body = {"images": [{"url": ECHO, "width": CANARY}], "seed": CANARY, "prompt": ECHO}
    with RawServer() as server, FalClient(CANARY, base_url=server.url) as client:
        server.script(Answer.json(200, body, x_fal_request_id=CANARY))
        with pytest.raises(FalError) as info:
            fast_sdxl(prompt="p", client=client)
    assert type(info.value).__name__ == "ResponseValidationError"
    assert_no_canary(info.value)


def test_secret_half_of_key_id_and_secret(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FAL_KEY_ID", KEY_ID)
    monkeypatch.setenv("FAL_KEY_SECRET", KEY_SECRET)
    answers = [
        Answer.json(403, {"detail": f"secret {KEY_SECRET} is not valid"}, x_fal_request_id="r"),
        Answer.json(401, {"detail": f"key {KEY_ID}:{KEY_SECRET} revoked"}),
        Answer(200, f"not json {KEY_SECRET}".encode()),
    ]
    with RawServer() as server, FalClient(base_url=server.url) as client:
        errors = _errors_from(answers, client, server)
    assert server.requests[0].headers["authorization"] == f"Key {KEY_ID}:{KEY_SECRET}"
    assert len(errors) == 3
    for error in errors:
        assert_no_canary(error, KEY_SECRET)


def test_connection_failures_and_redirects(
    sleeps: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    errors: list[FalError] = []
    with refusing_port() as refused, unanswered_port() as blackhole:
        for url in (refused, blackhole):
            with FalClient(CANARY, base_url=url, timeout=TIMEOUT, max_retries=1) as client:
                with pytest.raises(FalError) as info:
                    client.run("fal-ai/x", {"prompt": CANARY})
                errors.append(info.value)
    with RawServer() as server, FalClient(CANARY, base_url=server.url, timeout=TIMEOUT) as client:
        redirects = [
            Answer(status, b"", (("Location", location.format(host2="h:1", port2="h:2")),))
            for status in (301, 302, 303, 307, 308)
            for location in LOCATIONS.values()
        ]
        errors += _errors_from(redirects, client, server)
    assert len(errors) == 2 + 5 * len(LOCATIONS)
    for error in errors:
        assert_no_canary(error)


def test_emulator_log_callback(debug_logs: pytest.LogCaptureFixture) -> None:
    lines: list[str] = []
    with FalEmulator(
        schemas=[SCHEMAS / "fal-ai" / "fast-sdxl.json"], key=None, log=lines.append
    ) as emu:
        emu.inject("fal-ai/fast-sdxl", status=503, times=1)
        emu.inject("fal-ai/fast-sdxl", close_connection=True)
        with emu.client(key=CANARY, max_retries=0) as client:
            for _ in range(3):
                try:
                    fast_sdxl(prompt="p", client=client)
                except FalError as exc:
                    assert_no_canary(exc)
            with pytest.raises(FalError):
                client.run("fal-ai/unknown", {})
            httpx.post(
                f"{emu.url}/fal-ai/fast-sdxl",
                content=b"{",
                headers={"Authorization": f"Key {CANARY}"},
            )
    with FalEmulator(
        schemas=[SCHEMAS / "fal-ai" / "fast-sdxl.json"], key="right", log=lines.append
    ) as emu:
        with emu.client(key=CANARY) as client, pytest.raises(FalError) as info:
            fast_sdxl(prompt="p", client=client)  # 403: the wrong key
        assert_no_canary(info.value)
    assert len(lines) >= 5
    assert not [line for line in lines if CANARY in line]


CLI = Path(sys.executable).parent / "fal-typed"


@pytest.mark.skipif(not CLI.exists(), reason="fal-typed console script not installed")
def test_fal_typed_emulate_output() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(CLI), "emulate", str(SCHEMAS / "fal-ai" / "fast-sdxl.json"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/api/openapi/queue/openapi.json", timeout=0.5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        with FalClient(CANARY, base_url=url, max_retries=0) as client:
            fast_sdxl(prompt="p", client=client)
            with pytest.raises(FalError):
                client.run("fal-ai/fast-sdxl", {"nope": 1})
            with pytest.raises(FalError):
                client.run("fal-ai/unknown", {})
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=15)
    assert "POST /fal-ai/fast-sdxl -> 200" in stderr
    assert CANARY not in stderr and CANARY not in stdout
