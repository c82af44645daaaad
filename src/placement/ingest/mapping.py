"""Mapping files: how a real export's columns and spellings become canonical ones.

A coordinator describes an export once, in TOML, instead of editing it by hand
every year (the format is documented in ``docs/import.md``)::

    [candidates]
    file = "AC_export_2025.csv"          # optional: the file's name for `import dir`
    sheet = "Candidates"                 # optional: the sheet of a workbook to read
    ignore = ["Submitted", "Notes"]      # export columns to leave out
    delimiter = ";"                      # optional, one character (default: found from the header)

    [preferences]                        # the wide layout: one row per candidate
    layout = "wide"
    choices = "Choice {n}"               # or a list: ["First choice", "Second choice", ...]

    [candidates.columns]                 # export column = canonical column
    "Candidate Ref" = "candidate_id"

    [candidates.values.sex]              # export spelling = canonical value
    "F" = "female"
    "Female" = "female"

Column names and value spellings are matched ignoring letter case and
surrounding blanks. Mistakes in the mapping itself are a ConfigError raised
when it is loaded, before any file is read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain import NEVER_ECHOED
from ..errors import ConfigError
from ..schemas import LIST_COLUMNS, VOCABULARIES, columns

# The files of one intake's scheme, in the order an import folder is read.
KINDS: tuple[str, ...] = ("candidates", "hosts", "preferences", "host_rankings", "targets", "pairs")
# What became of the graduates afterwards: imported on its own, often for several cohorts at once.
AFTER_KINDS: tuple[str, ...] = ("outcomes",)
# What `placement import KIND FILE` takes.
IMPORT_KINDS: tuple[str, ...] = (*KINDS, *AFTER_KINDS)
# A mapping file may also describe the offer answers file read by `placement offer import`.
MAPPING_KINDS: tuple[str, ...] = (*KINDS, "answers", *AFTER_KINDS)
# Kinds that may come in the wide layout: (the column naming the row's owner, the column each choice names).
WIDE_KINDS: dict[str, tuple[str, str]] = {
    "preferences": ("candidate_id", "host_id"),
    "host_rankings": ("host_id", "candidate_id"),
}


def canonical_kind(kind: str, allowed: tuple[str, ...] = KINDS) -> str:
    """``host-rankings`` (as typed on the command line) or ``host_rankings``."""
    name = kind.strip().replace("-", "_").casefold()
    if name not in allowed:
        raise ConfigError(
            f"Unknown file kind {kind!r}.",
            "Use one of: " + ", ".join(k.replace("_", "-") for k in allowed) + ".",
        )
    return name


def fold(text: str) -> str:
    """The form names and spellings are matched in: no surrounding blanks, no letter case."""
    return text.strip().casefold()


@dataclass(frozen=True)
class FileMapping:
    """The mapping of one file kind. Keys of ``columns``, ``values`` and ``ignore`` are folded."""

    kind: str
    columns: dict[str, str] = field(default_factory=dict)  # export column -> canonical column
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical column -> spelling -> value
    ignore: frozenset[str] = frozenset()
    file: str | None = None
    delimiter: str | None = None  # None: found from the header row
    sheet: str | None = None  # None: the workbook's first sheet
    # The wide layout: each choice column's header (folded) -> rank; or a pattern with {n}.
    choices: tuple[str, ...] = ()
    choice_pattern: re.Pattern[str] | None = None

    @property
    def wide(self) -> bool:
        return bool(self.choices) or self.choice_pattern is not None

    def rank_of(self, header: str) -> int | None:
        """The rank a wide layout's column gives (``Choice 3`` -> 3), or None if it is not a choice column."""
        key = fold(header)
        if self.choice_pattern is not None:
            match = self.choice_pattern.fullmatch(key)
            return int(match.group(1)) if match else None
        return self.choices.index(key) + 1 if key in self.choices else None


@dataclass(frozen=True)
class Mapping:
    """A loaded mapping file: one :class:`FileMapping` per kind it mentions."""

    source: str | None = None
    kinds: dict[str, FileMapping] = field(default_factory=dict)

    def for_kind(self, kind: str) -> FileMapping:
        return self.kinds.get(kind) or FileMapping(kind)


NO_MAPPING = Mapping()


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a TOML mapping file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"Mapping file {path} does not exist.", "Check the --mapping path.") from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read mapping file {path}: {exc.strerror}.", "Check the --mapping path.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Mapping file {path.name} is not UTF-8 text (TOML files must be UTF-8).",
            "Save it as UTF-8 from your editor (not UTF-16 or a spreadsheet format) and try again.",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"Mapping file {path.name} is not valid TOML: {exc}.",
            "Fix the syntax (see docs/import.md for an example mapping file).",
        ) from exc
    return parse_mapping(data, source=path.name)


def _fail(source: str, where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"Mapping file {source}, [{where}]: {problem}.", f"Fix: {fix} (see docs/import.md).")


def parse_mapping(data: dict[str, Any], *, source: str = "mapping") -> Mapping:
    """Check a mapping already parsed from TOML and fold it for matching."""
    kinds: dict[str, FileMapping] = {}
    for raw_kind, section in data.items():
        try:
            kind = canonical_kind(raw_kind, MAPPING_KINDS)
        except ConfigError as exc:
            raise _fail(source, raw_kind, "is not a file kind", exc.hint or "") from None
        if kind in kinds:
            raise _fail(source, raw_kind, "appears twice (as host-rankings and host_rankings)", "keep one section")
        if not isinstance(section, dict):
            raise _fail(source, raw_kind, "must be a table", f"write [{raw_kind}] on a line of its own")
        kinds[kind] = _parse_kind(kind, raw_kind, section, source)
    return Mapping(source=source, kinds=kinds)


def _parse_kind(kind: str, where: str, section: dict[str, Any], source: str) -> FileMapping:
    required, optional = columns(kind)
    canonical = set(required) | set(optional)
    unknown_keys = set(section) - {"columns", "values", "ignore", "file", "delimiter", "sheet", "layout", "choices"}
    if unknown_keys:
        raise _fail(
            source,
            where,
            f"unknown key(s) {', '.join(sorted(unknown_keys))}",
            "use only file, sheet, delimiter, layout, choices, ignore, columns and values",
        )

    renames: dict[str, str] = {}
    for export_name, target in _table(section, "columns", where, source).items():
        if not isinstance(target, str) or target.strip() not in canonical:
            raise _fail(
                source,
                f"{where}.columns",
                f"{export_name!r} maps to {target!r}, which is not a column of {kind}",
                "map it to one of: " + ", ".join(required + optional),
            )
        target = target.strip()
        if target in renames.values():
            raise _fail(
                source,
                f"{where}.columns",
                f"two export columns map to {target}",
                "map only one export column to each canonical column",
            )
        renames[fold(export_name)] = target

    values: dict[str, dict[str, str]] = {}
    for column, spellings in _table(section, "values", where, source).items():
        column = column.strip()
        if column not in canonical:
            raise _fail(
                source,
                f"{where}.values",
                f"{column!r} is not a column of {kind}",
                "name a canonical column, e.g. [candidates.values.sex]",
            )
        if not isinstance(spellings, dict):
            raise _fail(source, f"{where}.values.{column}", "must be a table", '"Export spelling" = "canonical value"')
        values[column] = _parse_values(kind, column, spellings, f"{where}.values.{column}", source)

    ignore = section.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        raise _fail(source, where, "ignore must be a list of column names", 'ignore = ["Notes", "Timestamp"]')
    file = section.get("file")
    if file is not None and (not isinstance(file, str) or not file.strip() or Path(file).name != file):
        raise _fail(source, where, "file must be a file name (no folders)", 'file = "AC_export_2025.csv"')
    delimiter = section.get("delimiter")
    if delimiter is not None and not valid_delimiter(delimiter):
        raise _fail(source, where, "delimiter must be one character", 'delimiter = ";" (or "\\t" for tab)')
    sheet = section.get("sheet")
    if sheet is not None and (not isinstance(sheet, str) or not sheet.strip()):
        raise _fail(source, where, "sheet must be the name of a sheet", 'sheet = "Candidates"')
    choices, pattern = _parse_layout(kind, where, section, source)
    return FileMapping(
        kind=kind,
        columns=renames,
        values=values,
        ignore=frozenset(fold(x) for x in ignore),
        file=file,
        delimiter=delimiter,
        sheet=sheet,
        choices=choices,
        choice_pattern=pattern,
    )


def valid_delimiter(delimiter: object) -> bool:
    return isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in '"\r\n '


def _parse_layout(
    kind: str, where: str, section: dict[str, Any], source: str
) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The wide layout's choice columns: a list of headers in rank order, or a pattern like ``Choice {n}``."""
    layout = section.get("layout", "long")
    choices = section.get("choices")
    if layout not in ("long", "wide"):
        raise _fail(source, where, f'layout must be "long" or "wide", not {layout!r}', 'layout = "wide"')
    if layout == "long":
        if choices is not None:
            raise _fail(source, where, 'choices is given but layout is not "wide"', 'add layout = "wide"')
        return (), None
    if kind not in WIDE_KINDS:
        raise _fail(
            source,
            where,
            f"{kind} has no wide layout",
            "only preferences and host_rankings come one row per candidate (host)",
        )
    example = 'choices = "Choice {n}" or choices = ["First choice", "Second choice"]'
    if isinstance(choices, str):
        if choices.count("{n}") != 1:
            raise _fail(source, where, "the choices pattern must contain {n} once, where the rank is", example)
        before, after = fold(choices).split("{n}")
        return (), re.compile(re.escape(before) + r"\s*(\d+)\s*" + re.escape(after))
    if isinstance(choices, list) and choices and all(isinstance(c, str) and c.strip() for c in choices):
        folded = tuple(fold(c) for c in choices)
        if len(set(folded)) != len(folded):
            raise _fail(source, where, "a column is listed twice in choices", "list each choice column once")
        return folded, None
    raise _fail(source, where, 'layout = "wide" needs the choice columns', example)


def _table(section: dict[str, Any], key: str, where: str, source: str) -> dict[str, Any]:
    table = section.get(key, {})
    if not isinstance(table, dict):
        raise _fail(source, where, f"{key} must be a table", f"write [{where}.{key}] on a line of its own")
    return table


def _parse_values(kind: str, column: str, spellings: dict[str, Any], where: str, source: str) -> dict[str, str]:
    vocabulary = VOCABULARIES.get(column)
    lookup = {v.casefold(): v for v in vocabulary} if vocabulary else None
    folded: dict[str, str] = {}
    for n, (spelling, target) in enumerate(spellings.items(), start=1):
        # Entries for special category columns are named by position, not by
        # text, so that no ethnicity or disability wording reaches an error.
        label = f"entry {n}" if column in NEVER_ECHOED else repr(spelling)
        if not isinstance(target, str):
            raise _fail(source, where, f"{label} must map to a text value", '"F" = "female"')
        target = target.strip()
        if lookup is not None:
            items = target.split(";") if column in LIST_COLUMNS else [target]
            canonical = [lookup.get(item.strip().casefold()) for item in items]
            if None in canonical:
                raise _fail(
                    source,
                    where,
                    f"{label} maps to a value that is not a canonical {column}",
                    "map to one of: " + ", ".join(vocabulary or ()),
                )
            target = ";".join(c for c in canonical if c)
        key = fold(spelling)
        if key in folded and folded[key] != target:
            raise _fail(source, where, f"{label} is given twice with different values", "keep one")
        folded[key] = target
    return folded
