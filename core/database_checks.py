"""The database checks of `threadline doctor`: reachable, not damaged (SQLite's quick_check), schema at Alembic's
head."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core import schema
from core.database_faults import database_fault
from core.i18n import _

# quick_check lists every problem it finds; the first few tell an operator enough.
_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    line: str  # one line: "ok: ..." or "FAIL: <reason>; <fix>"


def check_database(engine: Engine, url: str) -> list[CheckResult]:
    """Each check's outcome in order; it stops at the first failure, since each check needs the one before."""
    results: list[CheckResult] = []
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - doctor reports any failure to connect, whatever the driver raises
        return [*results, _failure(url, exc, _("FAIL: database {url} is not reachable ({error}); check database.url "
                                               "and that the database server runs"))]
    results.append(CheckResult(True, _("ok: database {url} is reachable").format(url=url)))
    if engine.dialect.name == "sqlite":
        try:
            problems = _quick_check(engine)
        except DBAPIError as exc:
            return [*results, _failure(url, exc, _("FAIL: database {url} cannot be checked ({error}); stop "
                                                   "Threadline and restore the database from a backup"))]
        if problems:
            shown = "; ".join(problems[:_PROBLEMS_SHOWN]) + (" ..." if len(problems) > _PROBLEMS_SHOWN else "")
            return [*results, CheckResult(False, _(
                "FAIL: database {url} is damaged (quick_check: {problems}); stop Threadline and restore the database "
                "from a backup").format(url=url, problems=shown))]
        results.append(CheckResult(True, _("ok: database passes SQLite's quick_check")))
    try:
        current, head = schema.current_revision(engine), schema.head_revision(engine)
        pending = schema.pending_revisions(engine) if current != head else []
    except DBAPIError as exc:
        return [*results, _failure(url, exc, _("FAIL: the schema version of database {url} cannot be read ({error}); "
                                               "run: threadline init"))]
    if current == head:
        results.append(CheckResult(True, _("ok: schema is at the newest revision ({revision})").format(revision=head)))
    else:
        results.append(CheckResult(False, _(
            "FAIL: schema is at revision {current}, the newest is {head}; pending migrations: {pending}; run: "
            "threadline init").format(current=current or _("none (an empty database)"), head=head,
                                      pending=", ".join(pending))))
    return results


def _quick_check(engine: Engine) -> list[str]:
    """SQLite's quick_check: the problems it reports, or [] when it answers "ok" (it reads every page once)."""
    with engine.connect() as connection:
        # Its rows may span lines ("*** in database main ***\nPage 34: ..."); doctor prints one line per check.
        rows = [" ".join(str(row[0]).split()) for row in connection.execute(text("PRAGMA quick_check"))]
    return [] if rows == ["ok"] else rows


def _failure(url: str, exc: Exception, template: str) -> CheckResult:
    """A failed check; a full disk or damaged file is named as such (with its fix) whatever the check was."""
    original = getattr(exc, "orig", None) or exc
    error = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    fault = database_fault(original)
    if fault is not None:
        return CheckResult(False, _("FAIL: database {url}: {reason}").format(url=url, reason=fault))
    return CheckResult(False, template.format(url=url, error=error))
