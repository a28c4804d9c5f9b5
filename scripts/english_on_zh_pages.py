"""Count the English words a Chinese reader meets on the demo (issue 32's goal: at most 5): the
workspace pages in zh (lists, customers, managers, a manager, campaign, monitoring, sign-in),
the zh report, and ``churn kpi --lang zh`` and ``churn campaign --lang zh``. Saves a
screenshot of each page.

    CHURN_HOME=<demo home> python scripts/english_on_zh_pages.py --data <demo data> \\
        --report <zh report.html> --period 2024-04 --asof 2024-06-30 --shots <folder>

The home holds the demo's store and registry (``churn demo`` and ``churn score``), and a
``churn monitor`` result for the monitoring page.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
spec = importlib.util.spec_from_file_location("english", ROOT / "tests" / "e2e" / "english.py")
assert spec is not None and spec.loader is not None
english = importlib.util.module_from_spec(spec)
spec.loader.exec_module(english)

from serving.launch import free_port, serve_command, serve_env, stop_service, wait_until_up  # noqa: E402


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "churn", *args], capture_output=True, text=True, env=os.environ
    )
    text = done.stdout + done.stderr
    return "\n".join(line for line in text.splitlines() if "Warning" not in line and
                     "require_minimum_pandas_version" not in line)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--period", required=True)
    ap.add_argument("--asof", required=True)
    ap.add_argument("--shots", type=Path, required=True)
    a = ap.parse_args()
    a.shots.mkdir(parents=True, exist_ok=True)
    values = english.data_values(a.data)
    counts: dict[str, list[str]] = {}
    counts["churn kpi --lang zh"] = english.english_words(
        cli("kpi", "--period", a.period, "--lang", "zh"), values
    )
    counts["churn campaign --lang zh"] = english.english_words(
        cli("campaign", "--asof", a.asof, "--lang", "zh", "--out", str(a.shots / "c.csv")), values
    )
    port = free_port()
    env = serve_env(None)
    env.pop("CHURN_API_KEY", None)
    log = a.shots / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command("127.0.0.1", port), env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, 180, log)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 900})

            def visit(name: str, path: str) -> None:
                page.goto(f"{url}/ui{path}")
                text = page.evaluate(english.VISIBLE_TEXT)
                counts[name] = english.english_words(text, values)
                page.screenshot(path=str(a.shots / f"{name}.png"), full_page=True)

            visit("at_risk", "/?lang=zh")
            ids = page.eval_on_selector_all(
                "tr[data-customer]", "rs => rs.map(r => r.dataset.customer)"
            )
            visit("win_back", "/win-back?lang=zh")
            lapsed = page.eval_on_selector_all(
                "tr[data-customer]", "rs => rs.map(r => r.dataset.customer)"
            )
            for i, cid in enumerate([*ids[:2], *lapsed[:1]]):
                visit(f"customer_{i + 1}_{cid}", f"/customers/{cid}?lang=zh")
            visit("managers", "/managers?lang=zh")
            first = page.eval_on_selector_all(
                "a[href*='/ui/managers/']", "as => as.map(a => a.getAttribute('href'))"
            )
            if first:
                visit(
                    "manager",
                    first[0].removeprefix("/ui") + ("&" if "?" in first[0] else "?") + "lang=zh",
                )
            visit("campaign", "/campaign?lang=zh")
            visit("monitoring", "/monitoring?lang=zh")
            visit("sign_in", "/login?lang=zh")
            page.goto(a.report.resolve().as_uri())
            counts["report (zh)"] = english.english_words(
                page.evaluate(english.VISIBLE_TEXT), values
            )
            page.screenshot(path=str(a.shots / "report_zh.png"), full_page=True)
            browser.close()
    finally:
        stop_service(proc)
    total = 0
    for name, words in counts.items():
        total += len(words)
        shown = " ".join(sorted(set(words)))[:400]
        print(f"{name}: {len(words)} {shown}")
    print(f"TOTAL English words: {total}")


if __name__ == "__main__":
    main()
