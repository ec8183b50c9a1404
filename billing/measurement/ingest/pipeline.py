"""Reading overlapped with writing, and the progress bar.

The next chunk is read and validated while the current one is written, and at most two
prepared chunks wait to be written (one from a reader process), so memory stays flat
whatever the file's size.

Where the platform can fork (Linux), the reader is a child process: the parse then really
runs beside the write. A reader *thread* cannot: it holds the GIL for the whole chunk it
parses, so the writer waits for the reader and the two mostly take turns. The child inherits
the open file and the row converter; the prepared chunks travel back through a pipe
(``_prepared_in_process``), as small handles on rows the reader staged for the database's
own bulk path (``billing.measurement.ingest.staging``). Files smaller than ``PROCESS_MIN_BYTES`` keep the
thread (a fork costs more than it saves on a few thousand rows), as do platforms without
``fork``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.core.problems import Problem
from billing.measurement.ingest.files import RowSource

#: Rows as read: (line number, values in the kind's column order, raw row).
Chunk = list[tuple[int, tuple[str, ...], Any]]
ProgressCallback = Callable[[int], None]


@dataclass
class PreparedChunk:
    """One chunk read and validated: the good rows staged as the kind's writer takes them
    (``len(good)`` is how many good rows were read), rejected rows ready to keep."""

    good: Any
    bad: list[dict[str, Any]]
    problems: list[Problem]
    position: int


#: Files at least this big are read by a child process where the platform can fork.
PROCESS_MIN_BYTES = 4 << 20
#: ``BILLING_IMPORT_READER=thread`` or ``process`` forces one reader (tests use it).
READER_ENV = "BILLING_IMPORT_READER"


def reader_kind(path: Path) -> str:
    """``process`` or ``thread``: which reader an import of ``path`` uses."""
    forced = os.environ.get(READER_ENV, "").strip().lower()
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if forced in ("thread", "process"):
        return "process" if forced == "process" and can_fork else "thread"
    try:
        big = path.stat().st_size >= PROCESS_MIN_BYTES
    except OSError:
        big = False
    return "process" if big and can_fork else "thread"


def prepared_chunks(
    rows: RowSource, prepare: Callable[[Chunk], PreparedChunk], size: int, reader: str = "thread"
) -> AbstractContextManager[Iterator[PreparedChunk]]:
    """Chunks of ``size`` rows read and prepared beside the caller (a thread or a child
    process, see the module's docstring), handed over through a short queue; leaving the
    block (normally or not) stops the reader."""
    if reader == "process":
        return _prepared_in_process(rows, prepare, size)
    return _prepared_in_thread(rows, prepare, size)


@contextmanager
def _prepared_in_process(
    rows: RowSource, prepare: Callable[[Chunk], PreparedChunk], size: int
) -> Iterator[Iterator[PreparedChunk]]:
    """The reader as a forked child sending prepared chunks through a pipe, and waiting for the
    parent to be done with a chunk before it prepares the one after next.

    A prepared chunk may be a handle on data the reader staged outside the pipe (a file of
    rows, ``billing.measurement.ingest.staging``), so the pipe alone would not hold the reader back: the
    parent acknowledges each chunk when it asks for the next one, and the reader starts chunk
    ``k`` only once chunk ``k - 2`` is acknowledged. One chunk is written while the next is
    prepared, and no more than two exist at a time, whatever the file's size.

    Only the child and the parent hold the pipe's ends, so either side's death is seen by the
    other: the parent's ``recv`` ends (``EOFError``, even in the middle of a chunk) when the
    child dies, and the child's wait for an acknowledgement ends the same way when the parent
    dies, so no reader outlives its import. Where a child cannot be started (a daemonic
    parent such as a ``multiprocessing.Pool`` worker, or ``fork`` failing for memory), the
    thread reader takes over."""
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=True)

    def produce() -> None:  # in the child: the parent's objects are never touched here
        # Nothing inherited may be finalized here: closing the parent's database connections
        # from the child would break them (a PostgreSQL Terminate on the shared socket) or
        # act on SQLite's files behind the parent's back. Frozen objects are never collected,
        # and the child leaves through os._exit, which runs no finalizers and flushes nothing
        # (a lock some thread of the parent held at the fork stays held in the child).
        gc.freeze()
        # Parsing makes no reference cycles, and a collector walking each chunk's many
        # thousands of tuples again and again costs the reader a third of its time.
        gc.disable()
        parent_end.close()
        status = 0
        try:
            for number, chunk in enumerate(chunks(rows, size)):
                if number >= 2:
                    child_end.recv()  # the parent is done with chunk number - 2
                child_end.send(prepare(chunk))
            child_end.send(None)
        except BaseException as exc:  # handed to the parent, which raises it
            status = 1
            with suppress(BaseException):  # the parent may be gone: nothing left to tell
                child_end.send(_picklable(exc))
        os._exit(status)

    worker = context.Process(target=produce, name="import-reader", daemon=True)
    try:
        worker.start()
    except (AssertionError, OSError):  # AssertionError: multiprocessing's "daemonic processes ..."
        parent_end.close()
        child_end.close()
        with _prepared_in_thread(rows, prepare, size) as prepared:
            yield prepared
        return
    child_end.close()

    def consume() -> Iterator[PreparedChunk]:
        while True:
            try:
                item = parent_end.recv()
            except (EOFError, ConnectionResetError):  # reset: it died with acknowledgements unread
                worker.join(5)
                raise RuntimeError(f"the import's reader process stopped (exit code {worker.exitcode})") from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            with suppress(OSError):  # a reader that has finished reads no more acknowledgements
                parent_end.send(True)

    try:
        yield consume()
    finally:
        parent_end.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure to round-trip: send a description instead
        return RuntimeError(f"the import's reader failed: {exc!r}")
    return exc


@contextmanager
def _prepared_in_thread(
    rows: RowSource, prepare: Callable[[Chunk], PreparedChunk], size: int
) -> Iterator[Iterator[PreparedChunk]]:
    handoff: queue.Queue[PreparedChunk | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks(rows, size):
                item = prepare(chunk)
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put(exc)

    def consume() -> Iterator[PreparedChunk]:
        while True:
            item = handoff.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        while worker.is_alive():
            with suppress(queue.Empty):
                handoff.get(timeout=0.1)
        worker.join()


def chunks(rows: RowSource, size: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in rows.rows():
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def progress_bar(path: Path, wanted: bool | None) -> Iterator[ProgressCallback]:
    """A rich progress bar over the file's bytes, only when stderr is a terminal."""
    show = sys.stderr.isatty() if wanted is None else wanted
    if not show:
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    total = path.stat().st_size
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {path.name}", total=total)
        yield lambda done: bar.update(task, completed=done)
