"""Typed endpoints: validate the input model, send it, parse the output model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
import pydantic

from ._client import FalClient, TimeoutTypes, decode_json, default_client, follow_to_result
from ._exceptions import ResponseValidationError, redact
from ._handle import QueueHandle
from ._queue import Priority, Status
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from .webhooks import WebhookEvent

__all__ = ["Endpoint"]

InputT = TypeVar("InputT", bound=pydantic.BaseModel)
OutputT = TypeVar("OutputT", bound=pydantic.BaseModel)


class Endpoint(Generic[InputT, OutputT]):
    """One fal endpoint with its input and output models.

    Generated modules define one as ``ENDPOINT``; calling it validates the input before
    anything is sent, sends only the fields that were set, and returns the parsed output.
    ``submit``/``subscribe`` do the same through fal's queue.
    """

    def __init__(self, id: str, input_model: type[InputT], output_model: type[OutputT]) -> None:
        self.id = id
        self.input_model = input_model
        self.output_model = output_model

    def __repr__(self) -> str:
        return f"Endpoint({self.id!r}, {self.input_model.__name__}, {self.output_model.__name__})"

    def build_input(
        self, input: InputT | Mapping[str, Any] | None = None, /, **arguments: Any
    ) -> InputT:
        """Validate arguments into the input model; raises ``pydantic.ValidationError``.

        Pass either a ready model, a mapping, or keyword arguments (not several).
        """
        if input is not None and arguments:
            raise TypeError(
                f"{self.id}: pass the input as a model/mapping or as keyword arguments, not both"
            )
        if isinstance(input, self.input_model):
            return input
        if isinstance(input, pydantic.BaseModel):
            raise TypeError(
                f"{self.id}: expected {self.input_model.__name__}, got {type(input).__name__}"
            )
        return self.input_model.model_validate(arguments if input is None else input)

    def __call__(
        self,
        input: InputT | Mapping[str, Any] | None = None,
        /,
        *,
        client: FalClient | None = None,
        start_timeout: float | timedelta | None = None,
        object_lifecycle: int | timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        **arguments: Any,
    ) -> OutputT:
        """Run the endpoint and return its typed output.

        Args:
            input: an input model instance or a mapping of its fields (or use keywords).
            client: the ``FalClient`` to use; default: a shared client from the environment.
            start_timeout: seconds (>= 1) to wait for a runner; expiry raises
                ``StartTimeoutError``.
            object_lifecycle: seconds the generated files stay available.
            timeout: HTTP timeout for this call; default: the client's.
            extra_headers: extra request headers.
        """
        content = self._content(input, arguments)
        client = client or default_client()
        response = client.send(
            self.id,
            content,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=extra_headers,
        )
        return self.parse_output(response, client)

    def submit(
        self,
        input: InputT | Mapping[str, Any] | None = None,
        /,
        *,
        client: FalClient | None = None,
        webhook_url: str | None = None,
        priority: Priority | None = None,
        start_timeout: float | timedelta | None = None,
        object_lifecycle: int | timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        **arguments: Any,
    ) -> QueueHandle[OutputT]:
        """Validate the input, put it in fal's queue and return the typed handle.

        ``handle.result()`` returns the typed output. ``webhook_url``: fal POSTs the result
        there on completion; ``priority``: ``"normal"`` or ``"low"``. Nothing is sent when the
        input is invalid; the submit is never repeated once sent.
        """
        content = self._content(input, arguments)
        client = client or default_client()
        return client.submit_content(
            self.id,
            content,
            parse=self._parser(client),
            webhook_url=webhook_url,
            priority=priority,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=extra_headers,
        )

    def subscribe(
        self,
        input: InputT | Mapping[str, Any] | None = None,
        /,
        *,
        client: FalClient | None = None,
        on_enqueue: Callable[[str], object] | None = None,
        on_status: Callable[[Status], object] | None = None,
        logs: bool = False,
        client_timeout: float | None = None,
        webhook_url: str | None = None,
        priority: Priority | None = None,
        start_timeout: float | timedelta | None = None,
        object_lifecycle: int | timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        **arguments: Any,
    ) -> OutputT:
        """Submit through the queue, follow the request and return its typed output.

        ``on_enqueue`` gets the request id, ``on_status`` every status change; after
        ``client_timeout`` seconds the request is cancelled and ``QueueTimeoutError`` raised.
        """
        handle = self.submit(
            input,
            client=client,
            webhook_url=webhook_url,
            priority=priority,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            extra_headers=extra_headers,
            **arguments,
        )
        return follow_to_result(handle, on_enqueue, on_status, logs, client_timeout)

    def get_handle(
        self, request_id: str, *, client: FalClient | None = None
    ) -> QueueHandle[OutputT]:
        """The typed handle of a request submitted earlier, from its stored id."""
        client = client or default_client()
        return QueueHandle(client, self.id, request_id, parse=self._parser(client))

    def parse_webhook(self, body: bytes | str | Mapping[str, Any]) -> WebhookEvent[OutputT]:
        """Parse the JSON fal POSTs to a webhook into a typed event (verify it first with
        ``fal_typed.webhooks.verify``)."""
        from .webhooks import parse_event

        return parse_event(body, self.output_model, endpoint_id=self.id)

    def _content(
        self, input: InputT | Mapping[str, Any] | None, arguments: dict[str, Any]
    ) -> bytes:
        model = self.build_input(input, **arguments)
        return model.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def _parser(self, client: FalClient) -> Callable[[httpx.Response], OutputT]:
        def parse(response: httpx.Response) -> OutputT:
            return self.parse_output(response, client)

        return parse

    def parse_output(self, response: httpx.Response, client: FalClient) -> OutputT:
        """The typed output of a 2xx answer; ``ResponseValidationError`` when it does not fit."""
        try:
            return self.output_model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            failure = exc
        # Raised outside the ``except`` so pydantic's error is not chained: its text quotes the
        # answer, which is redacted here (in case the server echoed the key) but not there.
        secret = client._secrets()
        data = decode_json(self.id, response, secret=secret)  # not JSON: InvalidResponseError
        request_id = redact(response.headers.get("x-fal-request-id"), secret)
        raise ResponseValidationError(
            redact(
                f"{self.id}: the answer does not match {self.output_model.__name__} "
                f"(request_id={request_id}); the raw data is on .data: {failure}",
                secret,
            ),
            endpoint_id=self.id,
            request_id=request_id,
            data=redact(data, secret),
            errors=redact(failure.errors(include_url=False), secret),
        )
