"""How the API process is started: the ``bentoml serve`` command line and its environment.

Shared by ``churn serve``, the service tests and the benchmark, so all of them run the service
the same way.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from serving.config import CONFIG_ENV, ServingConfig

SERVICE = "serving.service:ChurnService"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def serve_command(host: str, port: int) -> list[str]:
    """``python -m bentoml serve serving.service:ChurnService`` bound to host:port."""
    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        SERVICE,
        "--host",
        host,
        "--port",
        str(port),
        "--working-dir",
        str(PROJECT_ROOT),
    ]


def serve_env(
    config_path: str | Path | None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The service's environment: the config file, no usage tracking, one OpenMP thread.

    One thread per LightGBM call is the fast setting for the small batches an API scores (the
    OpenMP start-up costs more than it saves); ``OMP_NUM_THREADS`` set by the caller wins.
    """
    env = dict(os.environ if base is None else base)
    if config_path is not None:
        env[CONFIG_ENV] = str(Path(config_path).resolve())
    else:
        env.pop(CONFIG_ENV, None)
    env.setdefault("BENTOML_DO_NOT_TRACK", "True")
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


def start_service(
    port: int,
    config_path: str | Path | None,
    log: Path,
    extra_env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
) -> subprocess.Popen:
    """``bentoml serve`` in its own process group (so :func:`stop_service` ends all its workers)."""
    env = serve_env(config_path)
    env.update(extra_env or {})
    with log.open("wb") as out:
        return subprocess.Popen(
            serve_command(host, port),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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
