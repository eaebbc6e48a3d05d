"""fal-typed: a typed, code-generated Python SDK for fal.ai's synchronous API.

Typed functions for each endpoint live in ``fal_typed.models`` (generated); this package is the
hand-written runtime they call.
"""

from pkgutil import extend_path

from ._client import FalClient
from ._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._endpoint import Endpoint
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    FalAPIError,
    FalConnectionError,
    FalError,
    InternalServerError,
    InvalidResponseError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    RequestOutcomeUnknownError,
    ResponseValidationError,
    StartTimeoutError,
    UnprocessableEntityError,
)
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__

# The generated ``fal_typed.models`` lives in generated/ in a source checkout; this lets one
# import package span both directories (a wheel merges them into one).
__path__ = extend_path(__path__, __name__)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AuthenticationError",
    "BadRequestError",
    "Endpoint",
    "FalAPIError",
    "FalClient",
    "FalConnectionError",
    "FalError",
    "InternalServerError",
    "InvalidResponseError",
    "MissingCredentialsError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestOutcomeUnknownError",
    "ResponseValidationError",
    "StartTimeoutError",
    "UnprocessableEntityError",
    "__version__",
]
