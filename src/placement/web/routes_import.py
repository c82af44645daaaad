"""Import (``placement import KIND FILE``): upload a CSV or workbook with an optional mapping, check it first
(a dry run: every row error in a table, nothing written), then import the checked file."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right
from ..errors import InputError, PlacementError
from ..ingest import import_file, load_mapping
from .auth import call, page
from .pages import cohort_of, done, problem, render
from .uploads import stage, staged, unstage, upload_of

KINDS = {
    "candidates": "Candidates",
    "hosts": "Hosts and their places",
    "preferences": "Candidates' preferences",
    "host_rankings": "Hosts' rankings of candidates",
    "targets": "Diversity targets",
    "pairs": "Required and forbidden pairs",
}
MAX_ERRORS = 1000  # every row error on the page, up to this many


def _form(request: Request, **context) -> Response:
    status = context.pop("status", 200)
    base: dict = {
        "title": "Import",
        "kinds": KINDS,
        "kind": "",
        "sheet": "",
        "report": None,
        "token": "",
        "file_name": "",
        "row_errors": [],
    }
    base.update(context)
    return render(request, "import.html", base, status=status)


@page(Right.CHANGE)
async def import_form(request: Request) -> Response:
    return _form(request)


def _run(request: Request, kind: str, paths: dict[str, Path], sheet: str, *, dry_run: bool):
    mapping = load_mapping(paths["mapping"]) if "mapping" in paths else None
    return call(
        request,
        import_file,
        request.app.state.engine,
        kind,
        paths["data"],
        mapping=mapping,
        dry_run=dry_run,
        max_errors=MAX_ERRORS,
        sheet=sheet or None,
        cohort=cohort_of(request),
    )


@page(Right.CHANGE)
async def import_submit(request: Request) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    sheet = str(form.get("sheet") or "").strip()
    token = str(form.get("token") or "")
    keep = {"kind": kind, "sheet": sheet}
    if kind not in KINDS:
        return _form(request, errors=[("kind", "Choose what the file holds")], status=400, **keep)
    if form.get("step") == "import":
        # The second step: import the file checked a moment ago (the same bytes: it was kept, not re-sent).
        paths = staged(token)
        if paths is None or "data" not in paths:
            return _form(
                request,
                errors=[("data_file", "The checked file is no longer kept: upload it again")],
                status=400,
                **keep,
            )
        try:
            report = await _run(request, kind, paths, sheet, dry_run=False)
        except InputError as exc:
            return _form(
                request,
                errors=[("data_file", exc.message.splitlines()[0])],
                row_errors=exc.problems,
                status=400,
                **keep,
            )
        except PlacementError as exc:
            return _form(request, errors=problem(exc, "data_file"), status=400, **keep)
        unstage(token)
        said = (
            "nothing changed: the same file was imported before"
            if report.skipped_same_file
            else f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.removed} removed"
        )
        return done(
            request,
            "/import",
            f"Imported {report.file} ({report.kind}, {report.rows} rows) into cohort {report.cohort}: {said}.",
        )
    data, mapping = upload_of(form, "data_file"), upload_of(form, "mapping_file")
    if data is None:
        return _form(request, errors=[("data_file", "Choose a CSV file or workbook")], status=400, **keep)
    try:
        token, paths = stage({"data": data, **({"mapping": mapping} if mapping else {})})
        report = await _run(request, kind, paths, sheet, dry_run=True)
    except InputError as exc:
        unstage(token)
        return _form(
            request, errors=[("data_file", exc.message.splitlines()[0])], row_errors=exc.problems, status=400, **keep
        )
    except PlacementError as exc:
        unstage(token)
        return _form(request, errors=problem(exc, "data_file"), status=400, **keep)
    return _form(request, report=report, token=token, file_name=paths["data"].name, **keep)


ROUTES = [
    Route("/import", import_form, methods=["GET"]),
    Route("/import", import_submit, methods=["POST"]),
]
