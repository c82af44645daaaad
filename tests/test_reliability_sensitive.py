"""Special category data never reaches logs, error messages or default outputs.

The sample scheme is imported through a mapping file from an "export" whose
ethnicity and disability cells are spelled distinctively ("Ethnicity H
SECRET-ETH"), so any echo of an input value is found by a plain search. Then
every command a coordinator runs is run in-process: import, solve, round list
and show, explain, export (default), audit json / csv / html (default),
approve, offer accept, log. Everything they print, every file they write by
default, all Python logging at DEBUG and anything written straight to the
file descriptors is scanned for:

- the planted spellings (never echoed anywhere);
- a candidate id on the same line as an ethnicity or disability word, or as
  the candidate's own raw ethnic category code;
- special category columns in the default export and per-candidate special
  category fields in the audit's JSON.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from placement.cli import cli
from placement.domain import ETHNIC_GROUP_OF_CODE, SPECIAL_CATEGORY_ATTRIBUTES

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample"
SECRET = "SECRET-"
CID = re.compile(r"\bC\d{3,}\b")
SPECIAL_WORDS = re.compile(r"ethnic|disab|minority|\bwhite\b|\basian\b|\bblack\b|\bmixed\b", re.I)
SENSITIVE_COLUMNS = {"sex", "ethnic_category", "ethnic_group", "minority_ethnic", "disability"}


def planted_scheme(folder: Path) -> tuple[Path, Path, dict[str, dict[str, str]]]:
    """The sample scheme with distinctive ethnicity and disability spellings, and the mapping that reads them."""
    shutil.copytree(SAMPLE, folder)
    path = folder / "candidates.csv"
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    truth: dict[str, dict[str, str]] = {}
    for row in rows:
        truth[row["candidate_id"]] = {
            "ethnic_category": row["ethnic_category"] or "99",
            "disability": row["disability"],
            "names": (row["given_name"], row["family_name"], row["email"]),
        }
        if row["ethnic_category"]:
            row["ethnic_category"] = f"Ethnicity {row['ethnic_category']} {SECRET}ETH"
        if row["disability"]:
            row["disability"] = f"Disability {row['disability']} {SECRET}DIS"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    mapping = folder.parent / "mapping.toml"
    lines = ["[candidates.values.ethnic_category]"]
    lines += [f'"Ethnicity {code} {SECRET}ETH" = "{code}"' for code in ETHNIC_GROUP_OF_CODE]
    lines += ["", "[candidates.values.disability]"]
    lines += [f'"Disability {v} {SECRET}DIS" = "{v}"' for v in ("yes", "no", "not_stated", "not_known")]
    mapping.write_text("\n".join(lines) + "\n")
    return folder, mapping, truth


@pytest.fixture
def run(tmp_path):
    db = f"sqlite:///{tmp_path / 'placement.db'}"
    outputs: list[tuple[str, str]] = []

    def invoke(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"{args}: {result.output}"
        outputs.append((" ".join(args), result.output))
        return result.output

    invoke.outputs = outputs
    return invoke


def offending_lines(text: str, truth: dict[str, dict[str, str]]) -> list[str]:
    """Lines that put a candidate next to special category data."""
    bad = []
    # Names and emails are personal data a default export carries on purpose; a family name such as
    # White or Black is not an ethnic group, so they are blanked before looking for group words.
    names = sorted({n for t in truth.values() for n in t["names"] if n}, key=len, reverse=True)
    blank = re.compile("|".join(re.escape(n) for n in names)) if names else None
    for line in text.splitlines():
        ids = CID.findall(line)
        if not ids:
            continue
        line = blank.sub("<name>", line) if blank else line
        if SPECIAL_WORDS.search(line):
            bad.append(line)
            continue
        for cid in ids:
            code = truth.get(cid, {}).get("ethnic_category")
            # The candidate's own code as a token of its own (e.g. "C014 ... H"), codes of one letter or "99".
            if code and re.search(rf"\b{cid}\b.*(?<![\w-]){re.escape(code)}(?![\w-])", line):
                bad.append(line)
                break
    return bad


def walk(obj, path="$"):
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")


@pytest.mark.skipif(not (SAMPLE / "candidates.csv").exists(), reason="fixtures/sample not present")
def test_special_category_data_never_leaves_in_default_outputs(run, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    scheme, mapping, truth = planted_scheme(tmp_path / "scheme")
    out = tmp_path / "out"
    disabled = sorted(c for c, t in truth.items() if t["disability"] == "yes")
    minority = sorted(
        c
        for c, t in truth.items()
        if ETHNIC_GROUP_OF_CODE[t["ethnic_category"]] not in ("white", "not_stated", "not_known")
    )
    assert disabled and minority, "the sample scheme must have disabled and minority ethnic candidates"

    run("import", "dir", str(scheme), "--mapping", str(mapping))
    run("solve", "--time-limit", "10")
    run("round", "list")
    run("round", "show", "1")
    for cid in (disabled[0], minority[0], minority[-1]):
        run("explain", cid, "--time-limit", "3")
    run("export", "1", "--out", str(out / "export.csv"))
    for fmt in ("json", "csv", "html"):
        run("audit", "1", "--format", fmt, "--out", str(out / f"audit.{fmt}"))
    run("round", "approve", "1", "--by", "A Coordinator")
    placed = next(r for r in csv.DictReader((out / "export.csv").open(encoding="utf-8")))["candidate_id"]
    run("offer", "accept", placed)
    log = run("log", "--limit", "500")
    # Who did what: every kind of change this run made is in the audit log, with the OS user.
    from placement.config import os_user

    for action in ("import", "solve", "export", "audit", "approve", "accept"):
        assert re.search(rf"\b{action}\b", log), f"`placement log` has no {action} entry"
    assert os_user() in log

    # A value the mapping does not know is refused without being echoed.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,willing_to_relocate,"
        "ethnic_category,disability\n"
        f"C900,Bad,Value,bad@example.org,50,data,London,yes,Ethnicity QQ {SECRET}BAD,Disability maybe {SECRET}BAD\n"
    )
    refused = run("import", "candidates", str(bad), "--mapping", str(mapping), ok=False)
    assert "row 2" in refused and "ethnic_category" in refused and "disability" in refused

    fd = capfd.readouterr()
    texts = {f"`placement {cmd}`": text for cmd, text in run.outputs}
    texts["python logging (DEBUG)"] = caplog.text
    texts["stdout/stderr file descriptors"] = fd.out + fd.err
    for f in sorted(out.iterdir()):
        texts[f.name] = f.read_text(encoding="utf-8-sig")

    for where, text in texts.items():
        assert SECRET not in text, f"{where} echoes a planted special category value"
        assert offending_lines(text, truth) == [], f"{where} shows special category data next to a candidate"

    # The detector can fail: the restricted export (with special category columns) trips it.
    restricted = tmp_path / "restricted" / "export.csv"
    run("export", "1", "--include-sensitive", "--out", str(restricted))
    assert offending_lines(restricted.read_text(encoding="utf-8"), truth)
    assert SECRET in (scheme / "candidates.csv").read_text(encoding="utf-8")

    with (out / "export.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert SENSITIVE_COLUMNS.isdisjoint(header), f"default export has {SENSITIVE_COLUMNS & set(header)}"

    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    for path, obj in walk(audit):
        if any(isinstance(v, str) and CID.fullmatch(v) for v in obj.values()):
            leaked = set(obj) & (SPECIAL_CATEGORY_ATTRIBUTES | {"sex"})
            assert not leaked, f"audit JSON {path} gives a candidate's {leaked}"


@pytest.mark.skipif(not (SAMPLE / "candidates.csv").exists(), reason="fixtures/sample not present")
def test_the_demo_shows_no_special_category_data(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with (SAMPLE / "candidates.csv").open(newline="", encoding="utf-8-sig") as fh:
        truth = {
            r["candidate_id"]: {
                "ethnic_category": r["ethnic_category"] or "99",
                "disability": r["disability"],
                "names": (r["given_name"], r["family_name"], r["email"]),
            }
            for r in csv.DictReader(fh)
        }
    demo = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(demo), "--time-limit", "10"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    fd = capfd.readouterr()
    texts = {"demo output": result.output, "python logging (DEBUG)": caplog.text, "file descriptors": fd.out + fd.err}
    texts.update(
        {f.name: f.read_text(encoding="utf-8") for f in demo.iterdir() if f.suffix in (".html", ".csv", ".json")}
    )
    assert any(f.endswith(".html") for f in texts), "the demo wrote no audit report"
    for where, text in texts.items():
        assert offending_lines(text, truth) == [], f"{where} shows special category data next to a candidate"
