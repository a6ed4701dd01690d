"""The reading process of the sample import: `read_batches` run in a child process, its batches sent back.

A large file is read in a child process (`batches_from_child`, which runs `child_main`): parsing and
normalising are pure Python and would otherwise hold the interpreter lock the writer needs between its round
trips to the database, so a reading thread in the same process overlaps with the writer hardly at all. The
child sends each batch down a pipe, pickled, and blocks until the writer takes it, so it works at most one
batch ahead; when the writer stops or dies, the pipe breaks and the child exits. Nothing here imports Django.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from detection.engine.records import SampleFileError
from detection.ingest.batches import Batch, read_batches

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Imported by name, not run as __main__, so that the batches unpickle as this module's classes.
_CHILD_COMMAND = "import sys; from detection.ingest.reader_process import child_main; sys.exit(child_main(sys.argv[1]))"


class ReaderProcessError(SampleFileError):
    """The reading process failed: its error as it reported it, or how it ended (killed, out of memory) with
    the last of what it wrote to standard error. The import fails with this as its reason."""


FILE_ERRORS = (ValueError, OSError)  # what the reader raises about the file itself, raised here as it was
STDERR_TAIL_BYTES = 2_000


def batches_from_child(**options: Any) -> Iterator[Batch]:
    """`read_batches(**options)`, run in a child process; its errors are raised here.

    An error about the file (encoding, layout, a missing file) is raised as the reader raised it; any other
    failure of the child, reported or not, as a `ReaderProcessError` that says what happened.
    A thread takes the batches off the pipe as they come, up to `AHEAD` of the one being written: the reader
    keeps reading while the writer waits on the database, instead of blocking on a full pipe.
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD_COMMAND, json.dumps(options)],
            cwd=_PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=1 << 20,
        )
        received: queue.Queue = queue.Queue(maxsize=AHEAD)
        stopped = threading.Event()
        receiver = threading.Thread(target=_receive, args=(process, received, stopped), daemon=True)
        receiver.start()
        try:
            while True:
                kind, value = received.get()
                if kind == "error":
                    raise _child_error(value, _tail(stderr))
                if kind == "end":
                    process.wait()
                    return
                yield value
        finally:
            stopped.set()
            if process.poll() is None:
                process.kill()
            process.wait()
            receiver.join()
            process.stdout.close()
            _pass_on(stderr)


def _child_error(error: BaseException, stderr_tail: str) -> BaseException:
    """The error to raise for what the child reported: its own when about the file, else a ReaderProcessError."""
    if isinstance(error, FILE_ERRORS) and not isinstance(error, ReaderProcessError):
        return error
    reason = str(error) if isinstance(error, ReaderProcessError) else _failed(error)
    failure = ReaderProcessError(f"{reason}; it wrote: {stderr_tail}" if stderr_tail else reason)
    failure.__cause__ = error
    return failure


def _failed(error: BaseException) -> str:
    return f"the reading process failed: {type(error).__name__}: {error}"


def _tail(stderr: IO[bytes]) -> str:
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(stderr.tell() - STDERR_TAIL_BYTES, 0))
    return stderr.read().decode("utf-8", "replace").strip()


def _pass_on(stderr: IO[bytes]) -> None:
    """What the child wrote to standard error, into this process's (a worker's log keeps its warnings)."""
    stderr.seek(0)
    written = stderr.read()
    if written:
        sys.stderr.write(written.decode("utf-8", "replace"))
        sys.stderr.flush()


AHEAD = 2  # batches received and waiting for the writer (a batch of 20,000 posts is about 10 MB)


def _receive(process: subprocess.Popen, received: queue.Queue, stopped: threading.Event) -> None:
    """Move what the child sends into `received` until it ends, fails, or the consumer stops."""
    while not stopped.is_set():
        try:
            message = pickle.load(process.stdout)  # noqa: S301 - our own child's output
        except EOFError:
            message = ("error", ReaderProcessError(_how_it_ended(process.wait())))
        except Exception as exc:  # noqa: BLE001 - a damaged stream: the consumer raises it
            message = ("error", ReaderProcessError(f"the reading process sent something unreadable: {exc}"))
        while not stopped.is_set():
            try:
                received.put(message, timeout=0.1)
                break
            except queue.Full:
                continue
        if message[0] != "batch":
            return


def _how_it_ended(status: int) -> str:
    if status < 0:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else str(-status)
        return f"the reading process ended unexpectedly (killed by signal {name})"
    return f"the reading process ended unexpectedly (exit status {status})"


def child_main(arguments: str) -> int:
    """The reading process: batches, pickled, on standard output.

    It ignores SIGINT and SIGTERM, which a terminal or a service manager sends to the whole process group:
    the importing process decides (a worker finishing its task on a warm shutdown still needs its reader) and
    kills it when it stops, and a broken pipe ends it when the importer dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but batches goes down the pipe
    # The reader allocates a few containers per row and makes almost no cycles, while what it keeps (the
    # carried authors, the URL cache) grows to hundreds of thousands of objects that every automatic full
    # collection walks again: a quarter of the child's time on a million rows. It collects once per batch
    # instead, when the batch it has sent is garbage.
    gc.disable()
    try:
        try:
            for number, batch in enumerate(read_batches(**json.loads(arguments)), start=1):
                pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                del batch
                gc.collect(2 if number % 50 == 0 else 0)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - an exception that does not pickle goes as its text
                exc = ReaderProcessError(_failed(exc))
            pickle.dump(("error", exc), out)
        else:
            pickle.dump(("end", None), out)
        out.flush()
    except BrokenPipeError:
        os._exit(1)  # the parent stopped reading (it failed or was killed): nothing left to do
    return 0
