"""Typed endpoints: validate the input model, send it, parse the output model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar

import pydantic

from ._client import FalClient, TimeoutTypes, decode_json, default_client
from ._exceptions import ResponseValidationError, redact
from ._types import NOT_GIVEN, NotGiven

__all__ = ["Endpoint"]

InputT = TypeVar("InputT", bound=pydantic.BaseModel)
OutputT = TypeVar("OutputT", bound=pydantic.BaseModel)


class Endpoint(Generic[InputT, OutputT]):
    """One fal endpoint with its input and output models.

    Generated modules define one as ``ENDPOINT``; calling it validates the input before
    anything is sent, sends only the fields that were set, and returns the parsed output.
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
        model = self.build_input(input, **arguments)
        content = model.model_dump_json(by_alias=True, exclude_unset=True).encode()
        client = client or default_client()
        response = client.send(
            self.id,
            content,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=extra_headers,
        )
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
