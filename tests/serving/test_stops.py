"""``churn serve`` stops cleanly (the real CLI, real BentoML processes): SIGKILL of its process
group frees the port within 3 s and leaves no worker behind, a restart on the same port works,
and SIGHUP or SIGTERM end the whole tree; the safe defaults refuse to start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from serving.launch import free_port

# the same xdist group as the other service tests: one world per worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]

START_TIMEOUT_S = 120


def _tagged(mark: str) -> list[int]:
    """Pids of live processes whose environment holds ``CHURN_TEST_MARK=mark``."""
    found = []
    needle = f"CHURN_TEST_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _serve(world, port: int, mark: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "CHURN_API_KEY"}
    env["CHURN_TEST_MARK"] = mark
    command = [sys.executable, "-m", "churn", "serve", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*command, "--config", str(world.config)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"not ready in time: {log.read_text(errors='replace')[-2000:]}")


def _gone(mark: str, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _tagged(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_kill_9_frees_the_port_and_a_restart_works_then_sighup_ends_all(world, tmp_path):
    mark, port, log = uuid.uuid4().hex, free_port(), tmp_path / "serve.log"
    first = _serve(world, port, mark, log)
    assert len(_tagged(mark)) >= 3  # churn serve, the BentoML server and its worker
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=5)
    start = time.monotonic()
    while not _port_free(port):
        assert time.monotonic() - start < 3, "port still held 3 s after kill -9"
        time.sleep(0.05)
    assert _gone(mark, 3) == [], "processes left behind after kill -9 of the group"

    second = _serve(world, port, mark, log)  # the same port again
    os.killpg(second.pid, signal.SIGHUP)
    second.wait(timeout=20)
    assert _gone(mark, 10) == [], "processes left behind after SIGHUP"
    assert _port_free(port)


@pytest.mark.parametrize(
    ("args", "env", "text"),
    [
        (["--host", "0.0.0.0"], {}, "--allow-unauthenticated"),
        ([], {"CHURN_API_KEY": ""}, "is set but empty"),
        (["--host", "0.0.0.0"], {"CHURN_API_KEY": "short-key"}, "at least 16"),
    ],
)
def test_unsafe_starts_are_refused(world, args, env, text):
    from churn.cli import app, register_commands

    register_commands()
    base = env or {"CHURN_API_KEY": None}
    run = CliRunner().invoke(app, ["serve", *args, "--config", str(world.config)], env=base)
    assert run.exit_code != 0
    message = str(run.exception) + run.output
    assert "refused to start" in message and text in message, message
