"""``python -m serving.start ARGS``: ``bentoml serve ARGS`` with the champions fetched beside it.

It starts ``python -m scoring.prefetch FOLDER`` (see :mod:`scoring.prefetch`) and then becomes
``python -m bentoml serve ARGS`` (same process, so signals and the process group work as
before), telling the workers where FOLDER is. FOLDER is named after this process; folders of
servers that are gone are removed here on the next start. Imports nothing heavy: it runs first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.process import set_process_defaults
from scoring.prefetch import PREFETCH_ENV

PREFIX = "churn-champions-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(root: Path) -> None:
    """Remove the fetch folders of servers no longer running."""
    for folder in root.glob(PREFIX + "*"):
        pid = folder.name[len(PREFIX) :]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def main(args: list[str]) -> None:
    set_process_defaults()
    root = Path(tempfile.gettempdir())
    sweep(root)
    folder = root / f"{PREFIX}{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    env = dict(os.environ) | {PREFETCH_ENV: str(folder)}
    subprocess.Popen(
        [sys.executable, "-m", "scoring.prefetch", str(folder)],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    os.execve(sys.executable, [sys.executable, "-m", "bentoml", "serve", *args], env)


if __name__ == "__main__":
    main(sys.argv[1:])
