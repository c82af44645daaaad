"""The HTML report in headless Chromium: it loads offline with no console errors and shows its key numbers.

Skips cleanly where /usr/bin/chromium is absent (CI installs the Debian package).
Screenshots are saved in each test's tmp dir, and copied to $PLACEMENT_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from placement.audit import audit_round, render
from tests.helpers.audit import build_sample_round, resolver

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is not installed"),
]


def chromium(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
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
    page.write_text(
        '<!DOCTYPE html><html><body><img src="missing.png"><script>undefinedFunction();</script></body></html>'
    )
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("undefinedFunction" in m for m in console_messages(result.stderr)), result.stderr[-2000:]


def screenshot(tmp_path: Path, page: Path, name: str, height: int = 2200) -> Path:
    """A screenshot of ``page`` in the test's tmp dir, also copied to $PLACEMENT_SCREENSHOTS when that is set."""
    shot = tmp_path / f"{name}.png"
    taken = chromium(
        tmp_path, "--hide-scrollbars", f"--window-size=1280,{height}", f"--screenshot={shot}", page.as_uri()
    )
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    assert console_messages(taken.stderr) == []
    keep = os.environ.get("PLACEMENT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / shot.name)
    return shot


@pytest.mark.parametrize("edition", ["internal", "publication"])
def test_report_loads_without_errors_and_shows_its_key_numbers(engine, tmp_path, edition) -> None:
    stored = build_sample_round(engine)
    free = {c: (h, r) for c, (h, r) in stored.placements.items()}
    audit = audit_round(engine, stored.number, edition=edition, resolve=resolver(free))
    html = render(audit, "html").decode("utf-8")
    page = tmp_path / f"round-1-audit-{edition}.html"
    page.write_text(html, encoding="utf-8")

    # Self-contained: nothing to fetch from the network.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "url(http" not in html and "@import" not in html

    loaded = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    dom = loaded.stdout
    s = audit["summary"]
    # The scheme-wide totals are exact in both editions.
    for key, figure in (
        ("candidates", s["candidates"]),
        ("placed", s["placed"]),
        ("unplaced", s["unplaced"]),
        ("first-choice", s["first_choice"]),
    ):
        assert re.search(rf'data-key="{key}">.*?<span class="v">{figure:,}</span>', dom), key
    assert f"{100 * audit['headline']['first_choice_share_of_placed']:.0f}%" in dom
    assert audit["provenance"]["input_hash"] in dom
    assert dom.count("<svg") == 12  # two charts for each of the six characteristics
    assert "four-fifths rule" in dom and "not an NHS England threshold" in dom
    assert "Price of fairness" in dom and "women-per-region" in dom
    if edition == "internal":
        assert 'id="stamp">OFFICIAL-SENSITIVE — restricted: contains small numbers; do not publish or forward<' in dom
        assert 'class="withheld"' not in dom.split('id="method"')[0]  # exact: nothing withheld above the method notes
    else:
        assert 'id="stamp"' not in dom and "Publication edition" in dom
        assert 'class="withheld"' in dom  # small group counts are withheld

    shot = screenshot(tmp_path, page, f"audit-{edition}")
    from PIL import Image

    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        if edition == "internal":
            assert rgb.getpixel((20, 10)) == (213, 40, 27)  # the red OFFICIAL-SENSITIVE stamp across the top
            assert rgb.getpixel((20, 60)) == (0, 94, 184)  # the NHS-blue masthead under it
        else:
            assert rgb.getpixel((20, 20)) == (0, 94, 184)  # the NHS-blue masthead was painted
        assert (
            len(rgb.resize((160, 275)).getcolors(maxcolors=100_000)) > 50
        )  # text, tables and charts, not a blank page


@pytest.mark.parametrize("edition", ["internal", "publication"])
def test_scenario_page_loads_without_errors_and_shows_the_trade_off(engine, tmp_path, edition) -> None:
    from placement.generate import generate_scheme
    from placement.ingest import import_dir
    from placement.rounds import RoundOptions, solve_round
    from placement.scenario import compare_scenarios
    from placement.scenario import render as render_scenarios

    generate_scheme(tmp_path / "scheme", candidates=60, seed=13)
    import_dir(engine, tmp_path / "scheme")
    result = solve_round(engine, RoundOptions(time_limit=30.0))
    assert result.status in ("OPTIMAL", "FEASIBLE")
    comparison = compare_scenarios(
        engine, result.round, ["no targets", "minority-ethnic-cohort soft weight 20"], edition=edition, workers=1
    )
    html = render_scenarios(comparison, "html").decode("utf-8")
    page = tmp_path / f"round-1-scenarios-{edition}.html"
    page.write_text(html, encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)

    loaded = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    dom = loaded.stdout
    assert dom.count("<svg") == 2  # the trade-off and the rank profiles
    assert "Trade-off: candidates placed and first-choice share against target attainment" in dom
    for i, col in enumerate(comparison["variants"], start=1):
        assert f'data-variant="{i}">{i}. {col["label"]}</th>' in dom
    placed_row = re.search(r'<tr data-key="placed">(.*?)</tr>', dom, re.S)
    assert placed_row is not None
    assert [int(x.replace(",", "")) for x in re.findall(r"<td>([\d,]+)<span", placed_row.group(1))] == [
        c["summary"]["placed"] for c in comparison["variants"]
    ]
    if edition == "internal":
        assert "OFFICIAL-SENSITIVE" in dom and "Who would move" in dom
    else:
        assert 'id="stamp"' not in dom and "Who would move" not in dom

    shot = screenshot(tmp_path, page, f"scenarios-{edition}", height=2600)
    from PIL import Image

    with Image.open(shot) as im:
        assert len(im.convert("RGB").resize((160, 325)).getcolors(maxcolors=100_000)) > 50
