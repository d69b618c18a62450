"""The runtime's home inside the window: a QThread running the engine's event loop.

The engine calls back from its own thread; those calls only emit signals of an object that
lives in the window's thread, so Qt queues them and the widgets are touched only there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from jobdesk.runtime.engine import Engine
from jobdesk.runtime.events import (
    DeviceChanged,
    Event,
    JobChanged,
    JobFinished,
    NeedsAttention,
    RuntimeProblem,
    RuntimeStatus,
    StoreStatus,
    TaskChanged,
)
from jobdesk.runtime.give_way import GiveWay, window_busy

log = logging.getLogger(__name__)


class _RuntimeWorker(QObject):
    """Lives in the runtime thread; runs the engine until it is asked to stop."""

    pending = Signal()  # events wait in the host's queue (sent once until they are read)
    ended = Signal(str)  # "" when it stopped cleanly, else the error in words

    def __init__(self, engine: Engine, on_close: Callable[[], object] | None,
                 give_way: GiveWay | None) -> None:
        super().__init__()
        self._engine = engine
        self._on_close = on_close
        self._give_way = give_way

    @Slot()
    def run(self) -> None:
        error = ""
        loop_factory = self._give_way.event_loop if self._give_way is not None else None
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(self._main())
        except Exception as failure:  # shown to the user; the data is safe in the store
            log.exception("the runtime stopped with an error")
            error = str(failure) or failure.__class__.__name__
        self.ended.emit(error)

    async def _main(self) -> None:
        try:
            await self._engine.run()
        finally:
            if self._on_close is not None:
                result = self._on_close()
                if asyncio.iscoroutine(result):
                    await result


class RuntimeHost(QObject):
    jobChanged = Signal(object)  # job id
    deviceChanged = Signal(object)  # device id: its model, firmware or last seen changed
    statusChanged = Signal(object)  # RuntimeStatus
    needsAttention = Signal(object)  # NeedsAttention
    jobFinished = Signal(object)  # JobFinished
    problem = Signal(str)
    storeStatus = Signal(object)  # why the database refuses writes, or None once it takes them
    stopped = Signal(str)  # "" or the error that ended the runtime

    def __init__(
        self,
        engine: Engine,
        parent: QObject | None = None,
        *,
        on_close: Callable[[], object] | None = None,
        give_way: GiveWay | None = None,
    ) -> None:
        """`give_way`: the window's busy flag, which the engine's event loop waits on
        (the engine's database calls too: give the engine the same one)."""
        super().__init__(parent)
        self.engine = engine
        self.give_way = give_way
        self._thread = QThread(self)
        self._thread.setObjectName("jobdesk-runtime")
        self._worker = _RuntimeWorker(engine, on_close, give_way)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.pending.connect(self._drain)
        self._worker.ended.connect(self._on_ended)
        self._thread.finished.connect(self._worker.deleteLater)
        self._queue: deque[Event] = deque()
        self._queue_lock = threading.Lock()
        engine.set_event_sink(self._collect)
        self.running = False
        self.last_status: RuntimeStatus | None = None

    def start(self) -> None:
        self.running = True
        self._thread.start()

    def stop(self) -> None:
        """Ask the engine to stop; running steps finish first. `stopped` follows."""
        self.engine.request_stop()

    def wake(self) -> None:
        self.engine.wake()

    def wait(self, milliseconds: int) -> bool:
        return self._thread.wait(milliseconds)

    @property
    def thread(self) -> QThread:
        return self._thread

    def _collect(self, event: Event) -> None:
        """Runs in the runtime thread: queue the event; signal only if the queue was empty.

        A busy runtime reports thousands of events a second; one queued signal per batch
        keeps the window's thread free for painting, and the batch is read in one go.
        A task's change is not queued at all: the window follows tasks through their job's
        JobChanged, and each signal sent on from the window's thread cost it ~0.15 ms
        waiting for the interpreter while 200 devices ran (8,000 of them in a 500-task run).
        """
        if isinstance(event, TaskChanged):
            return
        with self._queue_lock:
            first = not self._queue
            self._queue.append(event)
        if first:
            self._worker.pending.emit()

    @Slot()
    def _drain(self) -> None:
        with self._queue_lock:
            events = list(self._queue)
            self._queue.clear()
        with window_busy(self.give_way):
            seen: set[Event] = set()
            for event in events:
                if isinstance(event, (JobChanged, DeviceChanged)):
                    if event in seen:
                        continue  # the same change reported twice: once is enough
                    seen.add(event)
                self._on_event(event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, JobChanged):
            self.jobChanged.emit(event.job_id)
        elif isinstance(event, DeviceChanged):
            self.deviceChanged.emit(event.device_id)
        elif isinstance(event, RuntimeStatus):
            self.last_status = event
            self.statusChanged.emit(event)
        elif isinstance(event, NeedsAttention):
            self.needsAttention.emit(event)
        elif isinstance(event, JobFinished):
            self.jobFinished.emit(event)
        elif isinstance(event, RuntimeProblem):
            self.problem.emit(event.message)
        elif isinstance(event, StoreStatus):
            self.storeStatus.emit(event.problem)

    @Slot(str)
    def _on_ended(self, error: str) -> None:
        self._thread.quit()
        self._thread.wait()
        self.running = False
        self.stopped.emit(error)
