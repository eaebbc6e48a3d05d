"""Offline testing tools: an emulator of fal's synchronous API, driven by endpoint documents.

``import fal_typed.testing`` needs only the runtime; constructing a :class:`FalEmulator` needs
the ``emulator`` extra (``pip install 'fal-typed[emulator]'``, for ``jsonschema``).

- :class:`FalEmulator`: an HTTP server on 127.0.0.1 serving ``POST /{endpoint_id}`` for every
  loaded document, with input validation, schema-valid outputs, start timeouts, object
  lifecycle, recorded requests and fault injection.
- :class:`Fault`: a scripted failure (status, closed connection, malformed JSON, HTML gateway
  page, delay); queue one with :meth:`FalEmulator.inject` or :meth:`FalEmulator.add_fault`.
- :class:`RecordedRequest`: what the emulator received (``FalEmulator.requests``).
- ``fal_typed.testing.pytest_plugin``: a ``fal_emulator`` pytest fixture; activate it with
  ``pytest_plugins = ["fal_typed.testing.pytest_plugin"]`` in your root ``conftest.py``.
"""

from ._emulator import DEFAULT_KEY, FalEmulator, RecordedRequest
from ._faults import DEFAULT_ERROR_TYPES, Fault

__all__ = ["DEFAULT_ERROR_TYPES", "DEFAULT_KEY", "FalEmulator", "Fault", "RecordedRequest"]
