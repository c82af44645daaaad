"""The HTML report in headless Chromium: it loads offline with no console errors and shows its key numbers.

Skips cleanly where /usr/bin/chromium is absent (CI installs the Debian package).
A screenshot is saved in the test's tmp dir.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.helpers.audit import build_sample_round, resolver

from placement.audit import audit_round, render

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is not installed"),
]


def chromium(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
    ]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the console (errors, failed loads): Chromium logs them as CONSOLE lines."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_catches_a_broken_page(tmp_path) -> None:
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><img src="missing.png"><script>undefinedFunction();</script></body></html>')
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("undefinedFunction" in m for m in console_messages(result.stderr)), result.stderr[-2000:]


def test_report_loads_without_errors_and_shows_its_key_numbers(engine, tmp_path) -> None:
    stored = build_sample_round(engine)
    free = {c: (h, r) for c, (h, r) in stored.placements.items()}
    audit = audit_round(engine, stored.number, resolve=resolver(free))
    html = render(audit, "html").decode("utf-8")
    page = tmp_path / "round-1-audit.html"
    page.write_text(html, encoding="utf-8")

    # Self-contained: nothing to fetch from the network.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "url(http" not in html and "@import" not in html

    loaded = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    dom = loaded.stdout
    s = audit["summary"]
    for key, figure in (("pool", s["pool"]), ("eligible", s["eligible"]), ("placed", s["placed"])):
        shown = "*" if figure["suppressed"] else f"{figure['value']:,}"
        assert re.search(rf'data-key="{key}">.*?<span class="v">(<span[^>]*>)?{re.escape(shown)}', dom), key
    first = s["first_choice_share_of_placed"]["value"]
    assert f"{100 * first:.0f}%" in dom
    assert audit["provenance"]["input_hash"] in dom
    assert dom.count("<svg") == 12  # two charts for each of the six characteristics
    assert "four-fifths rule" in dom and "not an NHS England threshold" in dom
    assert "Price of fairness" in dom and "women-per-region" in dom

    shot = tmp_path / "report.png"
    taken = chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,2200", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    assert console_messages(taken.stderr) == []
    from PIL import Image

    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        assert rgb.getpixel((20, 20)) == (0, 94, 184)  # the NHS-blue masthead was painted
        assert len(rgb.resize((160, 275)).getcolors(maxcolors=100_000)) > 50  # text, tables and charts, not a blank page
