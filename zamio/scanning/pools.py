"""The scan's thread pools: threads started as work needs them, that never hold a run up
when it must end at once.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
however long their work still takes: a capture waiting on a host name's DNS lookup, a
request to ACRCloud, would keep a run told to stop at once (a second SIGTERM) alive for
their whole time limits.  A :class:`WorkerPool` runs the same work on daemon threads:
:meth:`WorkerPool.shutdown` waits for it as long as the caller says, and the process
may then end with a thread still busy.  The scan arranges that such a thread holds
nothing that must be undone (it writes nothing but through the main thread, and its
ffmpeg is killed by the stop request; see :mod:`zamio.scanning.job`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, TypeVarTuple

Arguments = TypeVarTuple("Arguments")
Result = TypeVar("Result")

#: A work item on the queue; None tells a thread to end.
_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None


class WorkerPool:
    """Up to ``size`` daemon threads named ``<name>_<n>``, started one at a time when
    work arrives and no thread is idle.  ``submit`` returns a ``concurrent.futures.Future``."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(1, size)
        self.name = name
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[[*Arguments], Result], *args: *Arguments) -> Future[Result]:
        """Run ``fn(*args)`` on a thread of the pool; the future holds its result or exception."""
        if self._closed:
            raise RuntimeError(f"the {self.name} pool is shut down")
        future: Future[Result] = Future()
        self._queue.put((future, fn, args))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self.size:
            thread = threading.Thread(target=self._serve, name=f"{self.name}_{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return future

    def shutdown(self, wait_seconds: float | None = None) -> bool:
        """Take no more work and cancel the work not started; wait for the work running, at most
        ``wait_seconds`` (None: until it ends).  Return True when every thread has ended."""
        self._closed = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            del item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args)
                except BaseException as error:  # handed to the future's owner, raised there
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del future, fn, args
            self._idle.release()
