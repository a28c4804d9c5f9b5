"""The service's start: fetch folders of servers that are gone are removed, a running one's kept."""

from __future__ import annotations

import os
import subprocess
import sys

from serving.start import PREFIX, sweep


def test_sweep_removes_the_fetch_folders_of_servers_that_are_gone(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for pid in (gone.pid, os.getpid()):
        (tmp_path / f"{PREFIX}{pid}").mkdir()
        (tmp_path / f"{PREFIX}{pid}" / "pair.json").write_text("{}", encoding="utf-8")
    (tmp_path / f"{PREFIX}abc").mkdir()  # a batch run's temporary folder: not ours to remove
    sweep(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"{PREFIX}{os.getpid()}", f"{PREFIX}abc"])
