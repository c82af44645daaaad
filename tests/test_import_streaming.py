"""The import reads in bounded memory (issue 17, finding 15: 5 million preference rows took 7.7 GiB).

A CSV file is checked in one pass of fixed-size chunks and then read a record
at a time, never whole; the rows are kept as codes (``ingest.rows``), so what
an import holds grows by tens of bytes a row, not by a dict and a model a
row. The checks over millions of rows and the plan of preferences work on
those codes with numpy; here they are compared with a plain dict model of
the same rules. Speed and the 2,000,000-row figure are measured by
``python -m benchmarks.import_bench --large``, not here.
"""

from __future__ import annotations

import csv
import random
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import text

from placement.ingest import csvfile, import_dir, import_file, store
from placement.ingest.rows import RowStore, WideRow
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    HOST_HEADER,
    candidate,
    host,
    migrated,
    write_csv,
    write_scheme,
)


def test_a_csv_file_is_never_read_whole(monkeypatch, engine, tmp_path: Path) -> None:
    """Every file of an import read through 16-byte chunks and the csv module: nothing reads a file whole."""
    scheme = write_scheme(tmp_path / "scheme")

    def whole(*args, **kwargs):
        raise AssertionError("a file was read whole")

    monkeypatch.setattr(csvfile, "CHUNK", 16)
    monkeypatch.setattr(Path, "read_bytes", whole)
    monkeypatch.setattr(Path, "read_text", whole)
    reports = import_dir(engine, scheme)
    assert {r.kind: r.added for r in reports} == {
        "candidates": 4,
        "hosts": 3,
        "preferences": 6,
        "host_rankings": 3,
        "targets": 2,
        "pairs": 2,
    }


NAMES = "candidate_id,given_name\r\nC1,Zoë\r\nC2,Ångström\r\nC3,Łukasz 😀\r\nC4,Plain\r\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (NAMES.encode("utf-8"), "read"),
        (b"\xef\xbb\xbf" + NAMES.encode("utf-8"), "read"),
        ("candidate_id,given_name\nC1,Zoë\nC2,Renée\n".encode("cp1252"), "read"),
        (NAMES.encode("utf-8") + "C5,Zoë\n".encode("cp1252"), (6, "mixes two text encodings")),
        (b"candidate_id,given_name\nC1,A\nC2,B\x81\nC3,C\n", (3, "neither UTF-8 nor Windows-1252")),
        (NAMES.encode("utf-8") + b"C5,Bell\x07\n", (6, "control characters")),
        (NAMES.encode("utf-8") + b"C5,Nul\x00\n", (6, "NUL bytes")),
        (b"candidate_id,given_name\nC1,Trunc\xc3", "read"),  # not UTF-8 at the very end: read as Windows-1252
    ],
)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
def test_chunked_encoding_checks_agree_with_reading_the_whole_file(
    monkeypatch, tmp_path: Path, data: bytes, expected, chunk: int
) -> None:
    """Any chunk size gives what one chunk (the whole file) gives: the same rows, the same problem on the same line."""
    path = tmp_path / "candidates.csv"
    path.write_bytes(data)
    monkeypatch.setattr(csvfile, "CHUNK", chunk)
    refused: list[tuple[str, int | None]] = []
    found = csvfile.scan(path, lambda problem, fix, line: refused.append((problem, line)))
    if expected == "read":
        assert found is not None and not refused
        encoding = "cp1252" if b"\xe9" in data or data[-1:] == b"\xc3" else "utf-8"
        body = data.removeprefix(b"\xef\xbb\xbf").decode(encoding)
        want = list(csv.reader(body.splitlines()))
        got = [cells for _, cells in csvfile.csv_rows(found, path.name, ",", lambda *a: refused.append(a))]
        assert got == want and not refused
    else:
        line, words = expected
        assert found is None and len(refused) == 1
        assert words in refused[0][0] and refused[0][1] == line


def _preferences(path: Path, candidates: list[str], hosts: list[str]) -> Path:
    """Each candidate ranks every host, in an order that differs between candidates."""
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["candidate_id", "host_id", "rank"])
        for i, cid in enumerate(candidates):
            for rank, k in enumerate(range(len(hosts)), start=1):
                out.writerow([cid, hosts[(i + k) % len(hosts)], rank])
    return path


def test_memory_grows_by_tens_of_bytes_a_preference_row(engine, tmp_path: Path) -> None:
    """Python's allocations at their peak during a (dry-run) import of 10,000 and of 50,000 preference rows.

    A dict of cells and a pydantic model a row, as before streaming, is over 1 KB a row; codes are ~20 bytes
    in each of two stores, plus numpy arrays of a few 8-byte keys a row while checking.
    """
    cids = [f"C{i:05d}" for i in range(2_500)]
    hids = [f"H{i:03d}" for i in range(20)]
    import_file(engine, "candidates", write_csv(tmp_path / "c.csv", [candidate(c) for c in cids], CANDIDATE_HEADER))
    import_file(engine, "hosts", write_csv(tmp_path / "h.csv", [host(h, capacity="200") for h in hids], HOST_HEADER))
    small = _preferences(tmp_path / "small.csv", cids[:500], hids)
    large = _preferences(tmp_path / "large.csv", cids, hids)

    def peak(path: Path) -> int:
        tracemalloc.start()
        try:
            report = import_file(engine, "preferences", path, dry_run=True)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert report.added == report.rows

    per_row = (peak(large) - peak(small)) / 40_000
    assert per_row < 250, f"{per_row:.0f} bytes a preference row"


def test_row_store_gives_back_what_was_put_in() -> None:
    rows = RowStore()
    rows.append((2, {"candidate_id": "C1", "host_id": "H1", "rank": "1"}))
    rows.append((WideRow(3, "Choice 2"), {"candidate_id": "C1"}))  # a broken wide cell keeps only its owner
    rows.append((4, {"candidate_id": "C2", "host_id": "H1", "rank": "1", "extra": 1.0}))
    rows.append((5, {"candidate_id": "C3", "host_id": "H2", "rank": "1", "extra": True}))
    got = list(rows)
    assert got == [
        (2, {"candidate_id": "C1", "host_id": "H1", "rank": "1"}),
        (3, {"candidate_id": "C1"}),
        (4, {"candidate_id": "C2", "host_id": "H1", "rank": "1", "extra": 1.0}),
        (5, {"candidate_id": "C3", "host_id": "H2", "rank": "1", "extra": True}),
    ]
    assert isinstance(got[1][0], WideRow) and got[1][0].choice_column == "Choice 2"
    assert not isinstance(got[0][0], WideRow)
    assert type(got[2][1]["extra"]) is float and got[3][1]["extra"] is True  # 1.0 and True are not one value
    assert rows.distinct("host_id") == {"H1", "H2"} and rows.distinct("missing") == set()


def test_preferences_plan_matches_a_dict_model(monkeypatch, any_db_url: str, tmp_path: Path) -> None:
    """Random edits of a preferences file, written in batches of 7: counts and stored rows as a plain dict says."""
    monkeypatch.setattr(store, "BATCH", 7)
    engine = migrated(any_db_url)
    cids, hids = [f"C{i}" for i in range(30)], [f"H{i}" for i in range(12)]
    import_file(engine, "candidates", write_csv(tmp_path / "c.csv", [candidate(c) for c in cids], CANDIDATE_HEADER))
    import_file(engine, "hosts", write_csv(tmp_path / "h.csv", [host(h) for h in hids], HOST_HEADER))
    rng = random.Random(17)
    stored: dict[tuple[str, str], int] = {}
    for step in range(6):
        named = rng.sample(cids, rng.randint(1, len(cids)))
        new = {
            (c, h): r
            for c in named
            for r, h in enumerate(rng.sample(hids, rng.randint(1, len(hids))), start=rng.randint(1, 3))
        }
        path = write_csv(
            tmp_path / f"p{step}.csv",
            [[c, h, str(r)] for (c, h), r in new.items()],
            ["candidate_id", "host_id", "rank"],
        )
        report = import_file(engine, "preferences", path)
        expect_removed = sum(1 for c, h in stored if c in named and (c, h) not in new)
        expect_added = sum(1 for key in new if key not in stored)
        expect_updated = sum(1 for key, r in new.items() if key in stored and stored[key] != r)
        assert (report.added, report.updated, report.unchanged, report.removed) == (
            expect_added,
            expect_updated,
            len(new) - expect_added - expect_updated,
            expect_removed,
        )
        stored = {key: r for key, r in stored.items() if key[0] not in named} | new
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "select c.candidate_id, h.host_id, p.rank from preferences p join candidates c on c.id = p.candidate_pk "
                    "join hosts h on h.id = p.host_pk"
                )
            ).all()
        assert {(c, h): r for c, h, r in rows} == stored and len(rows) == len(stored)
    engine.dispose()


def test_validating_list_files_by_distinct_value_reports_what_the_model_does(monkeypatch, tmp_path: Path) -> None:
    """Preferences and pairs validated one distinct cell text at a time: the same rows kept, the same problems."""
    from placement.ingest import validate
    from placement.ingest.mapping import NO_MAPPING
    from placement.ingest.reader import Problems, read_table

    bad_ids = ["C1", " C2 ", "", "C\u200b3", "x" * 101, "Ｃ5", "C1"]
    ranks = ["1", "2", "0", "-1", "1.5", "abc", "", "3", " 4 ", "1e3"]
    rng = random.Random(15)
    prefs = write_csv(
        tmp_path / "preferences.csv",
        [[rng.choice(bad_ids), rng.choice(["H1", "H 2", "", "H\u202e3"]), rng.choice(ranks)] for _ in range(300)],
        ["candidate_id", "host_id", "rank"],
    )
    pairs = write_csv(
        tmp_path / "pairs.csv",
        [
            [
                rng.choice(bad_ids),
                rng.choice(["H1", ""]),
                rng.choice(["require", "forbid", "Forbid", "x", ""]),
                rng.choice(["", "reason", "r\u200f"]),
            ]
            for _ in range(100)
        ],
        ["candidate_id", "host_id", "rule", "reason"],
    )

    def run(kind: str, path: Path) -> tuple[list, list]:
        problems = Problems(10_000)
        table = read_table(kind, path, NO_MAPPING.for_kind(kind), problems)
        assert table is not None
        kept = [(row, m.model_dump()) for row, m in validate.validate_rows(table, problems).rows]
        return kept, problems.items

    for kind, path in (("preferences", prefs), ("pairs", pairs)):
        by_value = run(kind, path)
        monkeypatch.setattr(validate, "BY_VALUE", ())
        by_model = run(kind, path)
        monkeypatch.undo()
        assert by_value == by_model
        assert by_value[0] and by_value[1]  # some rows kept, some refused
