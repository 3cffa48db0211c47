"""Start ``bin/`` scripts quickly: forked from a process that has already imported the library.

An end-to-end test runs the real scripts, often dozens of them, and each ``python bin/<job>``
spends about half a second importing SQLAlchemy, numpy, scipy and zamio before it does any
work.  A *launcher* process does those imports once; for every script it forks a child that
sets the test's environment, folder, stdin, stdout and stderr, runs the script file as
``__main__`` and exits with the script's exit code.  The child is a real process of its own,
so a script still gets its own database connections, locks, signals and exit code; only the
start-up is shared.  The launcher never opens a database, starts a thread or runs a job
itself, so what each child inherits is the state of a fresh interpreter after its imports.

The launcher is one single-threaded process per test process, talking over a pipe in JSON
lines: a request names the script, its arguments, environment, folder, timeout and the files
for its output; the answer gives the exit code, or says the time ran out (the child is then
killed, as ``subprocess.run`` does).  Several threads of a test may run scripts at once.

``ZAMIO_TEST_LAUNCHER=0`` runs every script with a plain ``subprocess.run`` instead, to show
that a failure is not the launcher's.  Tests that send signals or read output while a script
runs use ``Project.popen``, which always starts a plain process.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Modules every job needs: imported once by the launcher, before any fork.
PRELOAD = ("numpy", "scipy.signal", "sqlalchemy", "psycopg2", "requests", "dotenv", "zamio.runtime.runner")
POLL_SECONDS = 0.005  # how often the launcher looks for finished children and expired timeouts


def enabled() -> bool:
    return os.environ.get("ZAMIO_TEST_LAUNCHER", "1") != "0"


# --- the launcher process ---------------------------------------------------------------------------


def _preload() -> None:
    """Import what the scripts import, so that a child starts with it in memory."""
    import importlib
    import pkgutil

    import zamio.jobs

    for name in PRELOAD:
        importlib.import_module(name)
    for module in pkgutil.iter_modules(zamio.jobs.__path__):
        importlib.import_module(f"zamio.jobs.{module.name}")


#: The launcher's own standard streams, kept referenced in a child: were they collected when the child
#: replaces them, they would close descriptors 0 to 2, by then the script's own.
_launcher_streams: list[Any] = []


def _run_child(request: dict[str, Any]) -> None:
    """In the forked child: become the script's process, run it, and exit with its code."""
    _launcher_streams.extend((sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    stdout = os.open(request["stdout"], os.O_WRONLY | os.O_TRUNC)
    stderr = os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC)
    for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(source, target)
        os.close(source)
    sys.stdin = sys.__stdin__ = open(0, closefd=False)  # noqa: SIM115  (the process's own stdin)
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    script = request["argv"][0]
    sys.argv = list(request["argv"])
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    os._exit(_exit_code_of(script))


def _exit_code_of(script: str) -> int:
    """Run the script as ``__main__`` and end as the interpreter would: threads joined, atexit run, streams flushed."""
    import runpy
    import traceback

    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as stop:
        code = _system_exit_code(stop.code)
    except BaseException:  # noqa: BLE001  (an uncaught error ends a real interpreter with a traceback and 1)
        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  (what interpreter exit does: wait for non-daemon threads)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            code = code or 120  # what CPython exits with when flushing stdout fails at exit
    return code


def _system_exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


@dataclass
class _Child:
    request_id: int
    deadline: float
    timed_out: bool = False


def serve() -> None:
    """The launcher's loop: fork a child per request, answer when it ends or its time is up."""
    _preload()
    children: dict[int, _Child] = {}
    requests = sys.stdin.buffer
    answers = sys.stdout
    pending = b""
    open_input = True
    while open_input or children:
        if open_input and select.select([requests], [], [], POLL_SECONDS)[0]:
            chunk = os.read(requests.fileno(), 65536)
            if not chunk:
                open_input = False
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                answers.flush()
                pid = os.fork()
                if pid == 0:
                    _run_child(request)
                children[pid] = _Child(request["id"], time.monotonic() + request["timeout"])
        elif not open_input:
            for child_pid in children:  # the test process is gone: so is the need for its scripts
                _kill(child_pid)
            time.sleep(POLL_SECONDS)
        _reap(children, answers)
        _enforce_deadlines(children)


def _reap(children: dict[int, _Child], answers: Any) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        child = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        answers.write(json.dumps({"id": child.request_id, "returncode": code, "timed_out": child.timed_out}) + "\n")
        answers.flush()


def _enforce_deadlines(children: dict[int, _Child]) -> None:
    now = time.monotonic()
    for pid, child in children.items():
        if not child.timed_out and now > child.deadline:
            child.timed_out = True
            _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- the test side ----------------------------------------------------------------------------------


class Launcher:
    """The test process's handle on its launcher: ``run`` behaves like ``subprocess.run(..., text=True)``."""

    def __init__(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.launcher"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, cwd=Path(__file__).resolve().parent.parent)
        self.write_lock = threading.Lock()
        self.answers: dict[int, dict[str, Any]] = {}
        self.answered = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self._read_answers, name="launcher-answers", daemon=True).start()

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            answer = json.loads(line)
            with self.answered:
                self.answers[answer["id"]] = answer
                self.answered.notify_all()
        with self.answered:  # the launcher died: wake every waiter
            self.answers[-1] = {"dead": True}
            self.answered.notify_all()

    def run(self, argv: list[str], *, env: dict[str, str], cwd: str | Path, timeout: float,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="zamio-script-") as folder:
            files = {name: Path(folder) / name for name in ("stdin", "stdout", "stderr")}
            for path in files.values():
                path.touch()
            if input is not None:
                files["stdin"].write_text(input)
            with self.write_lock:
                self.next_id += 1
                request_id = self.next_id
                request = {"id": request_id, "argv": argv, "env": env, "cwd": str(cwd), "timeout": timeout,
                           "stdin": str(files["stdin"]) if input is not None else None,
                           "stdout": str(files["stdout"]), "stderr": str(files["stderr"])}
                assert self.process.stdin is not None
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                self.process.stdin.flush()
            answer = self._wait(request_id)
            stdout, stderr = (_text(files[name].read_bytes()) for name in ("stdout", "stderr"))
        if answer["timed_out"]:
            raise subprocess.TimeoutExpired(argv, timeout, output=stdout, stderr=stderr)
        return subprocess.CompletedProcess(argv, answer["returncode"], stdout, stderr)

    def _wait(self, request_id: int) -> dict[str, Any]:
        with self.answered:
            while request_id not in self.answers:
                if -1 in self.answers:
                    raise RuntimeError(f"the script launcher died (exit {self.process.poll()})")
                self.answered.wait()
            return self.answers.pop(request_id)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _text(data: bytes) -> str:
    """Output as ``subprocess.run(text=True)`` gives it: decoded, with universal newlines."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


_launcher: Launcher | None = None
_launcher_lock = threading.Lock()


def launcher() -> Launcher:
    """This test process's launcher, started on first use and stopped at exit."""
    global _launcher
    with _launcher_lock:
        if _launcher is None or _launcher.process.poll() is not None:
            _launcher = Launcher()
            atexit.register(_launcher.close)
        return _launcher


if __name__ == "__main__":
    serve()
