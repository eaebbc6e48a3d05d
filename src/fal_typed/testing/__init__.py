"""Offline testing tools: an emulator of fal's synchronous API and queue, driven by endpoint
documents.

``import fal_typed.testing`` needs only the runtime; constructing a :class:`FalEmulator` needs
the ``emulator`` extra (``pip install 'fal-typed[emulator]'``, for ``jsonschema`` and
``cryptography``).

- :class:`FalEmulator`: two HTTP servers on 127.0.0.1. One serves ``POST /{endpoint_id}``
  (fal.run) for every loaded document, with input validation, schema-valid outputs, start
  timeouts, object lifecycle, recorded requests and fault injection. The other
  (:attr:`FalEmulator.queue_url`) serves fal's queue: submit, status, status stream
  (server-sent events), result and cancel, with simulated queue wait, run time, concurrency,
  priorities and runner logs (:meth:`FalEmulator.set_queue_timing`), runner failures
  (:meth:`FalEmulator.fail_next_job`) and webhooks signed with Ed25519 (JWKS at
  :attr:`FalEmulator.jwks_url`; :attr:`FalEmulator.webhook_deliveries`).
- :class:`Fault`: a scripted failure (status, closed connection, malformed JSON, HTML gateway
  page, cut status stream, delay) on the synchronous route or one of the queue's routes;
  queue one with :meth:`FalEmulator.inject` or :meth:`FalEmulator.add_fault`.
- :class:`RecordedRequest`: what the emulator received (``FalEmulator.requests``; ``server``
  says which of its servers got it).
- :class:`QueueTiming`: how the queue simulates an endpoint (:meth:`FalEmulator.queue_timing`).
- :class:`WebhookDelivery`: one webhook delivery attempt.
- ``fal_typed.testing.pytest_plugin``: a ``fal_emulator`` pytest fixture; activate it with
  ``pytest_plugins = ["fal_typed.testing.pytest_plugin"]`` in your root ``conftest.py``.
"""

from ._emulator import DEFAULT_KEY, FalEmulator, RecordedRequest
from ._faults import DEFAULT_ERROR_TYPES, FAULT_ROUTES, Fault
from ._queue import QueueTiming
from ._webhooks import WEBHOOK_USER_ID, WebhookDelivery

__all__ = [
    "DEFAULT_ERROR_TYPES",
    "DEFAULT_KEY",
    "FAULT_ROUTES",
    "WEBHOOK_USER_ID",
    "FalEmulator",
    "Fault",
    "QueueTiming",
    "RecordedRequest",
    "WebhookDelivery",
]
