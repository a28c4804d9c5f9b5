"""How the API process is started and stopped: the ``bentoml serve`` command line, its
environment, the safety checks before it binds, and a process tree that dies as one.

Shared by ``churn serve``, the service tests and the benchmarks, so all of them run the service
the same way. BentoML's worker runs in its own session under the server process; it exits when
that parent goes (:func:`exit_with_parent`), and the server itself dies with whoever started it
(:func:`die_with_parent`), so a SIGKILL anywhere leaves no process holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

from core.process import NO_TELEMETRY
from scoring.config import CONFIG_ENV, ServingConfig, ServingConfigError, api_key_problem

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

SERVICE = "serving.service:ChurnService"
SERVICE_NAME = "churn"
"""The service's name in ``@bentoml.service`` (and BentoML's configuration)."""
BENTOML_OVERRIDES = "BENTOML_CONFIG_OVERRIDES"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def serve_command(
    host: str,
    port: int,
    target: str = SERVICE,
    keep_alive_s: int = ServingConfig().keep_alive_timeout_s,
) -> list[str]:
    """``python -m bentoml serve serving.service:ChurnService`` bound to host:port (``target``:
    a built Bento's tag instead, served from the Bento's own copy of the code); idle keep-alive
    connections closed after ``keep_alive_s``. This tree's service starts through
    :mod:`serving.start`, which fetches the champions beside BentoML's own start."""
    args = [target, "--host", host, "--port", str(port), "--timeout-keep-alive", str(keep_alive_s)]
    if target == SERVICE:
        return [sys.executable, "-m", "serving.start", *args, "--working-dir", str(PROJECT_ROOT)]
    return [sys.executable, "-m", "bentoml", "serve", *args]


def serve_env(
    config_path: str | Path | None,
    base: Mapping[str, str] | None = None,
    workers: int | None = None,
) -> dict[str, str]:
    """The service's environment: the config file, no usage tracking, one OpenMP thread, and
    ``workers`` worker processes (BentoML's ``services.churn.workers``; default one).

    One thread per LightGBM call is the fast setting for the small batches an API scores (the
    OpenMP start-up costs more than it saves); ``OMP_NUM_THREADS`` set by the caller wins.
    """
    env = dict(os.environ if base is None else base)
    if workers is not None:
        try:
            overrides = json.loads(env.get(BENTOML_OVERRIDES) or "{}")
        except ValueError as exc:
            raise ServingConfigError(f"{BENTOML_OVERRIDES} is not valid JSON: {exc}") from None
        services = overrides.setdefault("services", {})
        services.setdefault(SERVICE_NAME, {})["workers"] = workers
        env[BENTOML_OVERRIDES] = json.dumps(overrides)
    if config_path is not None:
        env[CONFIG_ENV] = str(Path(config_path).resolve())
    else:
        env.pop(CONFIG_ENV, None)
    for name, value in NO_TELEMETRY.items():
        env.setdefault(name, value)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(cfg: ServingConfig, host: str | None = None, port: int | None = None) -> str:
    h = host or cfg.host
    shown = "127.0.0.1" if h in ("0.0.0.0", "::") else h
    return f"http://{shown}:{port or cfg.port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bind_problem(
    host: str, key_env: str, env: Mapping[str, str], allow_unauthenticated: bool = False
) -> str | None:
    """Why the service must not start this way (None: it may): a bad key, or an interface beyond
    loopback without a key unless explicitly allowed."""
    key = env.get(key_env)
    problem = api_key_problem(key_env, key)
    if problem:
        return problem
    if key is None and not is_loopback(host) and not allow_unauthenticated:
        return (
            f"binding {host} exposes the API beyond this machine and {key_env} is not set; set "
            f"a key of at least 16 characters, or pass --allow-unauthenticated to serve "
            "without one"
        )
    return None


def _set_pdeathsig(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits (False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """``preexec_fn`` of the server process: it gets ``sig`` when the starting process dies."""
    _set_pdeathsig(sig)


def exit_with_parent(interval_s: float = 0.2) -> None:
    """Exit this process (a BentoML worker) as soon as its parent is gone: a watchdog thread
    compares the parent pid, and on Linux the kernel sends SIGKILL as well."""
    parent = os.getppid()
    if threading.current_thread() is threading.main_thread():
        _set_pdeathsig(signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        log.warning("the server process %d is gone; this worker exits", parent)
        os._exit(0)

    if parent > 1:
        threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def start_service(
    port: int,
    config_path: str | Path | None,
    log: Path,
    extra_env: Mapping[str, str | None] | None = None,
    host: str = "127.0.0.1",
    workers: int | None = None,
    target: str = SERVICE,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """``bentoml serve`` of ``target`` (the service in this tree, or a built Bento's tag) in its
    own process group (so :func:`stop_service` ends all its workers); an ``extra_env`` value of
    None removes that variable."""
    env = serve_env(config_path, workers=workers)
    for name, value in (extra_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    with log.open("wb") as out:
        return subprocess.Popen(
            serve_command(host, port, target),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
            cwd=cwd,
        )


def watch_readiness(
    proc: subprocess.Popen,
    url: str,
    say: Callable[[str], None],
    interval_s: float = 0.5,
    timeout_s: float = 600.0,
) -> threading.Thread:
    """A daemon thread that says how the server's start goes: when it answers ``/livez``, each
    new reason ``/readyz`` gives for not being ready (models, store), and when it is ready."""
    import httpx

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        live, last = False, ""
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if not live and httpx.get(f"{url}/livez", timeout=2).status_code == 200:
                    live = True
                    say("server process up; loading the champion models and opening the store")
                if live:
                    ready = httpx.get(f"{url}/readyz", timeout=5)
                    if ready.status_code == 200:
                        say("ready")
                        return
                    reason = str(ready.json().get("error", ""))
                    if reason and reason != last:
                        say(reason)
                        last = reason
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(interval_s)

    thread = threading.Thread(target=watch, name="readiness-watch", daemon=True)
    thread.start()
    return thread


def run_foreground(
    command: list[str],
    env: Mapping[str, str],
    grace_s: float = 10.0,
    on_start: Callable[[subprocess.Popen], object] | None = None,
) -> int:
    """Run the server until it exits or this process gets SIGINT, SIGTERM or SIGHUP; each is
    passed on as SIGTERM to the server's own process group (SIGKILL after ``grace_s``). The
    server gets SIGTERM from the kernel if this process is killed outright. ``on_start`` gets
    the server's process once it is started (to watch its readiness, for one)."""
    proc = subprocess.Popen(
        command, env=dict(env), start_new_session=True, preexec_fn=die_with_parent
    )
    if on_start is not None:
        on_start(proc)
    stopping: list[float] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            _signal_group(proc, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                return code if code >= 0 else 128 - code  # killed by a signal: the shell's way
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > grace_s:
                    _signal_group(proc, signal.SIGKILL)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def wait_until_up(proc: subprocess.Popen, url: str, timeout_s: float, log: Path) -> None:
    """Poll ``url/livez`` until it answers 200; RuntimeError with the log tail on exit or timeout."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/livez", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""
    state = f"exited with {proc.returncode}" if proc.poll() is not None else "timed out"
    raise RuntimeError(f"service at {url} {state} before it was up; log tail:\n{tail}")


def stop_service(proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """SIGTERM the service's process group, SIGKILL it when it does not stop in time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass
