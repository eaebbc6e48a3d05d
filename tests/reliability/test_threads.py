"""One client shared by 8 threads: 200 typed calls against the emulator, each answer matching
its own request, no errors, and no connection left behind."""

from __future__ import annotations

import threading
import time
from typing import Any

from fal_typed.models.fal_ai.fast_sdxl import FastSdxlOutput, fast_sdxl
from fal_typed.testing import FalEmulator

from .conftest import CANARY

THREADS = 8
CALLS = 200


def test_eight_threads_share_one_client(emu: FalEmulator) -> None:
    client = emu.client(key=CANARY, timeout=10.0)
    results: dict[int, FastSdxlOutput] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()  # all threads begin together, so the pool is contended
        for n in range(thread, CALLS, THREADS):
            try:
                result = fast_sdxl(
                    prompt=f"prompt {n} from thread {thread}",
                    seed=1_000_000 + n,
                    num_images=1 + n % 4,
                    client=client,
                )
            except BaseException as exc:  # pragma: no cover - reported below
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    results[n] = result

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sorted(results) == list(range(CALLS))
    for n, result in results.items():  # the emulator echoes prompt and seed
        assert result.prompt == f"prompt {n} from thread {n % THREADS}"
        assert result.seed == 1_000_000 + n
        assert len(result.images) == 1 + n % 4
    assert len(emu.requests) == CALLS
    sent: list[Any] = sorted(r.json["seed"] for r in emu.requests)
    assert sent == [1_000_000 + n for n in range(CALLS)]

    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert pool._requests == []
    assert all(conn.is_idle() for conn in pool.connections)
    assert 1 <= len(pool.connections) <= THREADS  # reused, at most one per thread
    client.close()
    assert pool.connections == []
    server = emu._server  # the emulator's side: every connection it accepted has ended
    assert server is not None
    for _ in range(200):
        if not server._connections:
            break
        time.sleep(0.01)
    assert server._connections == set()
