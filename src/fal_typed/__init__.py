"""fal-typed: a typed, code-generated Python SDK for fal.ai's synchronous and queue APIs.

Typed functions for each endpoint live in ``fal_typed.models`` (generated); this package is the
hand-written runtime they call.
"""

import os
import sys

from ._client import FalClient
from ._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_QUEUE_URL, DEFAULT_TIMEOUT
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
    QueueTimeoutError,
    RateLimitError,
    RedirectError,
    RequestCancelledError,
    RequestOutcomeUnknownError,
    ResponseValidationError,
    StartTimeoutError,
    UnprocessableEntityError,
)
from ._handle import QueueHandle
from ._media import FileDownloadError, FileOutput, save_files
from ._queue import Completed, InProgress, Queued, Status
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__

# The generated ``fal_typed.models`` lives in generated/ in a source checkout (the editable
# install puts src/ and generated/ on sys.path); this lets one import package span both
# directories. A wheel merges them into one. Like pkgutil.extend_path, without importing pkgutil
# (a tenth of this package's import time).
__path__ += [
    portion
    for portion in (os.path.join(entry, __name__) for entry in sys.path if isinstance(entry, str))
    if portion not in __path__ and os.path.isdir(portion)
]

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_QUEUE_URL",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AuthenticationError",
    "BadRequestError",
    "Completed",
    "Endpoint",
    "FalAPIError",
    "FalClient",
    "FalConnectionError",
    "FalError",
    "FileDownloadError",
    "FileOutput",
    "InProgress",
    "InternalServerError",
    "InvalidResponseError",
    "MissingCredentialsError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "QueueHandle",
    "QueueTimeoutError",
    "Queued",
    "RateLimitError",
    "RedirectError",
    "RequestCancelledError",
    "RequestOutcomeUnknownError",
    "ResponseValidationError",
    "StartTimeoutError",
    "Status",
    "UnprocessableEntityError",
    "__version__",
    "save_files",
]
