"""How non-2xx answers, broken connections and broken bodies surface to the caller."""

from __future__ import annotations

import pytest

from fal_typed import (
    AuthenticationError,
    BadRequestError,
    FalAPIError,
    FalClient,
    FalConnectionError,
    FalError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    RequestOutcomeUnknownError,
    StartTimeoutError,
    UnprocessableEntityError,
)

from ._server import RecordingServer, Reply

VALIDATION_BODY = {
    "detail": [
        {
            "loc": ["body", "num_images"],
            "msg": "Input should be less than or equal to 8",
            "type": "less_than_equal",
            "url": "https://docs.fal.ai/errors#less_than_equal",
            "ctx": {"le": 8},
            "input": 50,
        },
        {
            "loc": ["body", "image_size", "width"],
            "msg": "Input should be a valid integer",
            "type": "int_type",
        },
    ]
}

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def test_validation_error_is_readable_and_complete(
    server: RecordingServer, client: FalClient
) -> None:
    server.script(
        Reply(422, VALIDATION_BODY, {"x-fal-request-id": "req-1", "X-Fal-Retryable": "false"})
    )
    with pytest.raises(UnprocessableEntityError) as info:
        client.run("fal-ai/fast-sdxl", {"num_images": 50})
    err = info.value
    assert str(err).startswith(
        "422 fal-ai/fast-sdxl: body.num_images: Input should be less than or equal to 8; "
        "body.image_size.width: Input should be a valid integer"
    )
    assert "request_id=req-1" in str(err)
    assert err.status_code == 422
    assert err.request_id == "req-1"
    assert err.retryable is False
    assert err.detail == VALIDATION_BODY["detail"]
    assert err.body == VALIDATION_BODY
    assert isinstance(err, FalAPIError) and isinstance(err, FalError)
    assert len(server.requests) == 1


def test_request_error_shape(server: RecordingServer, client: FalClient) -> None:
    body = {"detail": "Invalid timeout header", "error_type": "bad_request"}
    server.script(Reply(400, body, {"x-fal-request-id": "r2", "X-Fal-Error-Type": "bad_request"}))
    with pytest.raises(BadRequestError) as info:
        client.run("fal-ai/x", {})
    assert str(info.value) == (
        "400 fal-ai/x: Invalid timeout header [error_type=bad_request, request_id=r2]"
    )
    assert info.value.error_type == "bad_request"
    assert info.value.detail == "Invalid timeout header"
    assert info.value.retryable is None


def test_error_type_from_header_when_body_has_none(
    server: RecordingServer, client: FalClient
) -> None:
    server.script(Reply(500, {"detail": "boom"}, {"X-Fal-Error-Type": "runner_server_error"}))
    with pytest.raises(InternalServerError) as info:
        client.run("fal-ai/x", {})
    assert info.value.error_type == "runner_server_error"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, FalAPIError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
    ],
)
def test_status_classes(server: RecordingServer, status: int, cls: type[FalAPIError]) -> None:
    # request ids mark these as answers from fal's platform (not retried gateway errors)
    server.script(Reply(status, {"detail": "nope"}, {"x-fal-request-id": "r"}))
    with FalClient("k", base_url=server.url, max_retries=0) as c, pytest.raises(cls) as info:
        c.run("fal-ai/x", {})
    assert type(info.value) is cls
    assert info.value.status_code == status


def test_html_gateway_page(server: RecordingServer, client: FalClient) -> None:
    server.script(*[Reply(502, NGINX_502, {"Content-Type": "text/html"})] * 3)
    with pytest.raises(InternalServerError) as info:
        client.run("fal-ai/x", {})
    assert str(info.value) == "502 fal-ai/x: 502 Bad Gateway"
    assert info.value.body == NGINX_502
    assert info.value.request_id is None


def test_empty_error_body(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(404, b"", {"x-fal-request-id": "r"}))
    with pytest.raises(NotFoundError) as info:
        client.run("fal-ai/x", {})
    assert str(info.value) == "404 fal-ai/x: Not Found [request_id=r]"


def test_user_start_timeout(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(
        Reply(
            504,
            {
                "detail": "Request timed out before a runner was available",
                "error_type": "request_timeout",
            },
            {"X-Fal-Request-Timeout-Type": "user", "x-fal-request-id": "r9"},
        )
    )
    with pytest.raises(StartTimeoutError) as info:
        client.run("fal-ai/x", {}, start_timeout=1)
    assert info.value.status_code == 504
    assert info.value.request_id == "r9"
    assert len(server.requests) == 1
    assert sleeps == []


def test_connection_closed_after_request_is_outcome_unknown(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(Reply(close=True), Reply())
    with pytest.raises(RequestOutcomeUnknownError) as info:
        client.run("fal-ai/x", {"prompt": "a cat"})
    message = str(info.value)
    assert "may have run and been billed" in message
    assert "queue" in message
    assert len(server.requests) == 1
    assert server.requests[0].json() == {"prompt": "a cat"}
    assert sleeps == []


def test_read_timeout_is_outcome_unknown(server: RecordingServer, sleeps: list[float]) -> None:
    server.script(Reply(delay=0.5))
    with FalClient("k", base_url=server.url) as c, pytest.raises(RequestOutcomeUnknownError):
        c.run("fal-ai/x", {}, timeout=0.1)
    assert len(server.requests) == 1
    assert sleeps == []


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_connect_error_is_retried_then_raised(sleeps: list[float]) -> None:
    client = FalClient("k", base_url=_closed_port(), max_retries=2)
    with client, pytest.raises(FalConnectionError, match="could not connect"):
        client.run("fal-ai/x", {})
    assert len(sleeps) == 2


def test_malformed_json_success(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(200, b'{"images": [', {"x-fal-request-id": "r5"}))
    with pytest.raises(InvalidResponseError) as info:
        client.run("fal-ai/x", {})
    err = info.value
    assert isinstance(err, FalError)
    assert err.status_code == 200
    assert err.request_id == "r5"
    assert err.text.startswith('{"images": [')
    assert "not valid JSON" in str(err) and "r5" in str(err)


def test_redirect_is_not_followed_and_key_not_sent_elsewhere(
    server: RecordingServer, client: FalClient
) -> None:
    other = RecordingServer().start()
    try:
        server.script(Reply(307, b"", {"Location": f"{other.url}/fal-ai/x"}))
        with pytest.raises(RedirectError) as info:
            client.run("fal-ai/x", {"prompt": "p"})
        assert other.requests == []
        assert len(server.requests) == 1
        assert info.value.status_code == 307
        assert other.url in str(info.value)
    finally:
        other.stop()
