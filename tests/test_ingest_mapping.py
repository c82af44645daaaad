"""Mapping files: loading and checking them, and the messy export loading through its mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from placement.errors import ConfigError, InputError
from placement.ingest import import_dir, import_file, load_mapping
from tests.helpers.ingest import dump, make_template, sqlite_copy

MESSY = Path(__file__).resolve().parents[1] / "fixtures" / "messy"


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory) -> Path:
    return make_template(tmp_path_factory.mktemp("empty"), with_scheme=False)


@pytest.fixture
def engine(empty_template: Path, tmp_path: Path):
    eng = sqlite_copy(empty_template, tmp_path)
    yield eng
    eng.dispose()


def _mapping(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "map.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_load_mapping_folds_names_and_spellings() -> None:
    mapping = load_mapping(MESSY / "mapping.toml")
    candidates = mapping.for_kind("candidates")
    assert candidates.columns["candidate ref"] == "candidate_id"
    assert candidates.values["sex"]["prefer not to say"] == "not_stated"
    assert candidates.values["specialisms"]["all"] == "data;digital;technology"
    assert "assessor notes" in candidates.ignore
    assert candidates.file == "AC_export_2025.csv"
    assert mapping.for_kind("pairs").columns == {}  # kinds it does not mention map nothing


@pytest.mark.parametrize(
    ("body", "text_"),
    [
        ("[candidates\n", "not valid TOML"),
        ("[applicants]\n", "is not a file kind"),
        ('[candidates.columns]\n"Ref" = "candidate_ref"\n', "not a column of candidates"),
        ('[candidates.columns]\n"Ref" = "candidate_id"\n"ID" = "candidate_id"\n', "two export columns"),
        ('[candidates.values.sex]\n"F" = "femme"\n', "not a canonical sex"),
        ('[candidates.values.colour]\n"F" = "x"\n', "'colour' is not a column"),
        ('[candidates]\nignore = "Notes"\n', "ignore must be a list"),
        ('[candidates]\nfile = "../x.csv"\n', "file must be a file name"),
        ('[candidates]\ndelimiter = ";;"\n', "delimiter must be one character"),
        ('[candidates]\nencoding = "latin-1"\n', "unknown key(s) encoding"),
        ('[candidates.values.specialisms]\n"AI" = "data;ai"\n', "not a canonical specialisms"),
    ],
)
def test_bad_mapping_files(tmp_path, body, text_) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_mapping(_mapping(tmp_path, body))
    assert text_ in str(excinfo.value)
    assert "docs/import.md" in str(excinfo.value) or "TOML" in str(excinfo.value)


def test_mapping_error_on_special_category_hides_the_wording(tmp_path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_mapping(_mapping(tmp_path, '[candidates.values.ethnic_category]\n"Romany Gypsy" = "W"\n'))
    assert "entry 1" in str(excinfo.value) and "Romany" not in str(excinfo.value)


def test_missing_mapping_file(tmp_path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_mapping(tmp_path / "nope.toml")
    assert "does not exist" in str(excinfo.value)


def test_messy_export_loads_through_its_mapping(engine) -> None:
    reports = import_dir(engine, MESSY, mapping=MESSY / "mapping.toml")
    assert [(r.file, r.rows, r.added) for r in reports] == [
        ("AC_export_2025.csv", 20, 20),
        ("Host_places_2025.csv", 10, 10),
        ("Preferences_2025.csv", 47, 47),
    ]
    with engine.connect() as conn:
        rows = {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                text(
                    "select c.candidate_id, c.given_name, c.assessment_score, c.specialisms, c.home_region, "
                    "c.willing_to_relocate, c.linked_with, p.sex, p.ethnic_category, p.disability "
                    "from candidates c join protected_characteristics p on p.candidate_pk = c.id"
                )
            )
        }
        hosts = dict(conn.execute(text("select host_id, name || '|' || org_type || '|' || region from hosts")).all())
        ranks = (
            conn.execute(
                text(
                    "select p.rank from preferences p join candidates c on c.id = p.candidate_pk "
                    "join hosts h on h.id = p.host_pk where c.candidate_id = 'AC-0004' "
                    "order by p.rank"
                )
            )
            .scalars()
            .all()
        )
    # BOM, \r\n, blanks around values, "Female"/"F", "Y"/"N", "All", "Tech", "East" all canonical now.
    assert rows["AC-0001"] == ("Amelia", 81.5, "data;digital", "London", True, None, "female", "A", "no")
    assert rows["AC-0004"][0] == "Zoë" and rows["AC-0004"][2:4] == ("data;digital;technology", "East of England")
    assert rows["AC-0005"][6:] == ("male", "C", "yes")  # id "AC-0005  " had trailing blanks
    assert rows["AC-0006"][2:] == ("data;technology", "North East and Yorkshire", True, "AC-0007", "female", "Z", "no")
    assert rows["AC-0009"][6:] == ("not_stated", "99", "no")
    assert rows["AC-0014"][7] == "99"
    assert hosts["RW6"] == "Pennine Care – Mental Health|mental_health|North West"  # Windows-1252 file
    assert ranks == [1, 2, 3, 4]  # "1st", "2", "3rd", "4"

    again = import_dir(engine, MESSY, mapping=MESSY / "mapping.toml")
    assert all(r.skipped_same_file for r in again)


def test_messy_export_without_its_mapping_explains_every_column(engine) -> None:
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_file(engine, "candidates", MESSY / "AC_export_2025.csv")
    assert dump(engine) == before
    columns = {p.column for p in excinfo.value.problems}
    assert {"Candidate Ref", "Assessor Notes", "candidate_id", "email"} <= columns


def test_value_mapping_is_case_insensitive_and_problems_name_export_columns(engine, tmp_path) -> None:
    mapping = _mapping(
        tmp_path,
        """
[hosts.columns]
"Code" = "host_id"
"Places" = "capacity"
[hosts.values.org_type]
"acute TRUST" = "acute"
""",
    )
    path = tmp_path / "hosts.csv"
    path.write_text(
        "Code,name,org_type,region,Places,specialisms\n"
        "H1,One,ACUTE trust,London,2,data\n"
        "H2,Two,Acute Trust,London,lots,data\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as excinfo:
        import_file(engine, "hosts", path, mapping=mapping)
    [problem] = excinfo.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "Places (capacity)", "lots")


def test_delimiter_option(engine, tmp_path) -> None:
    mapping = _mapping(tmp_path, '[hosts]\ndelimiter = ";"\n')
    path = tmp_path / "hosts.csv"
    path.write_text(
        'host_id;name;org_type;region;capacity;specialisms\nH1;One, Two & Co;acute;London;2;"data;digital"\n',
        encoding="utf-8",
    )
    report = import_file(engine, "hosts", path, mapping=mapping)
    assert report.added == 1
    with engine.connect() as conn:
        assert conn.execute(
            text("select h.name, p.specialisms from hosts h join host_places p on p.host_pk = h.id")
        ).one() == ("One, Two & Co", "data;digital")


def test_ignore_wins_over_a_canonical_name(engine, tmp_path) -> None:
    """An export whose 'Sex' column the coordinator chose to leave out: stored as not known."""
    mapping = _mapping(tmp_path, '[candidates]\nignore = ["SEX", "notes"]\n')
    path = tmp_path / "candidates.csv"
    path.write_text(
        "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,"
        "willing_to_relocate,Sex,Notes\nC1,A,B,a@b.org,50,data,London,no,garbage,anything\n"
    )
    assert import_file(engine, "candidates", path, mapping=mapping).added == 1
    with engine.connect() as conn:
        assert conn.execute(text("select sex from protected_characteristics")).scalar() == "not_known"
