"""The `cps` command line: the operators' contract (commands, options and exit codes: docs/ARCHITECTURE.md)."""

from __future__ import annotations

import os
import re
import signal
import sys
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from pipelines.core.environment import apply_offline_environment
from pipelines.core.errors import CpsError, UsageError, file_system_problem
from pipelines.core.runlog import (
    DETAIL,
    PROGRESS,
    current_run_log,
    exit_without_cleanup,
    quiet_console,
    show_progress,
    start_run_log,
    with_log_hint,
)
from pipelines.core.settings import Settings
from pipelines.core.warehouse import MEMORY_LIMIT_VARIABLE, memory_limit
from pipelines.flows.prefect_api import check_prefect_usage, prepare_nightly_process, reports_to_prefect
from pipelines.publishing.publish import check_readable

# The exit codes of a command stopped by a signal, as shells report them (128 + the signal's number).
INTERRUPTED = 130  # Ctrl-C (SIGINT); typer's too
TERMINATED = 143  # SIGTERM

app = typer.Typer(
    help="CPS membership platform: nightly points, levels, invitations and repair SLA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def package_version() -> str:
    try:
        return version("cps-platform")
    except PackageNotFoundError:
        return "unknown"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"cps {package_version()}")
        raise typer.Exit()


AsOf = Annotated[
    date | None,
    typer.Option(
        "--as-of",
        parser=lambda value: parse_as_of(value),
        metavar="YYYY-MM-DD",
        help="Run date D (default: today, UTC).",
    ),
]
Inbox = Annotated[Path | None, typer.Option("--inbox", help="Inbox folder (env CPS_INBOX; default data/inbox).")]
Catalog = Annotated[
    Path | None,
    typer.Option("--catalog", help="Folder with products.csv and service_centres.csv (env CPS_CATALOG)."),
]
Warehouse = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB warehouse file (env CPS_WAREHOUSE; default data/warehouse/cps.duckdb)."),
]
Reports = Annotated[
    Path | None,
    typer.Option("--reports", help="Reports folder (env CPS_REPORTS; default data/reports)."),
]


def parse_as_of(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UsageError(f"bad date {value!r}: use YYYY-MM-DD, for example 2026-11-23") from None


@app.callback()
def cps(
    show: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """CPS membership platform: nightly points, levels, invitations and repair SLA."""


def announce_start(command: str, settings: Settings) -> None:
    """The first seconds go to loading dbt and Great Expectations (and Prefect, if the night reports to
    it): say so at once."""
    prefect = "starting Prefect, " if reports_to_prefect(settings.prefect_temporary_server) else ""
    PROGRESS.info("cps %s: %sloading dbt and Great Expectations ... %s", command, prefect, with_log_hint(""))


def print_summary(text: str) -> None:
    """The published night's summary on stdout; a reader that went away (a closed pipe) does not turn
    a published night into a failed one."""
    try:
        typer.echo(text)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115  (the exit's flush must not fail)
        print("cps: the night is published; its summary could not be written (stdout was closed)", file=sys.stderr)


def start_logging(command: str, settings: Settings) -> None:
    """Progress (on stderr at a terminal, see Settings.progress) and this run's log file (call again once
    Prefect is imported)."""
    show_progress(settings.progress)
    start_run_log(command, settings.logs)


def load_settings(**overrides: object) -> Settings:
    try:
        settings = Settings().with_overrides(**overrides)
    except ValidationError as error:  # a CPS_* variable with a value of the wrong form
        raise UsageError(settings_problem(error)) from None
    except SettingsError as error:  # a CPS_* variable that should hold JSON and does not
        raise UsageError(unparsed_setting_problem(error)) from None
    apply_offline_environment(settings.prefect_home.resolve())
    return settings


# What a value of the right form looks like, where pydantic's message would show a pattern instead.
SETTING_FORMS = {"duckdb_memory_limit": "a size such as 1.5GB, 800MB or 80% (of the machine's memory)"}


def settings_problem(error: ValidationError) -> str:
    """One line naming the variable, its value, what is wrong with it and what to give instead."""
    first = error.errors()[0]
    setting, *inside = first["loc"]  # inside a setting's value: the key it is about, then pydantic's type
    where = f" ({inside[0]})" if inside else ""
    name = f"CPS_{str(setting).upper()}"
    form = SETTING_FORMS.get(str(setting))
    wrong = f"it should be {form}" if form and first["type"] == "string_pattern_mismatch" else first["msg"]
    return f"bad setting {name}{where}={first.get('input')!r}: {wrong}; set it again, or unset it for the default"


def unparsed_setting_problem(error: SettingsError) -> str:
    """One line for a variable whose value is not the JSON its setting takes (CPS_POLICY_OVERRIDES)."""
    field = re.search(r'field "(\w+)"', str(error))
    name = f"CPS_{field.group(1).upper()}" if field else "a CPS_* variable"
    return f"bad setting {name}: its value is not valid JSON (for example '{{\"level_silver_points\": 600}}')"


def out_of_memory_problem(detail: str) -> str:
    return (
        f"DuckDB ran out of memory within its limit ({MEMORY_LIMIT_VARIABLE}={memory_limit()}): "
        f"raise the limit or free memory on the machine, then run again ({detail})"
    )


def fail(message: str) -> None:
    typer.echo(f"cps: {message}", err=True)
    raise typer.Exit(code=1)


@app.command()
def nightly(
    as_of: AsOf = None,
    inbox: Inbox = None,
    catalog: Catalog = None,
    warehouse: Warehouse = None,
    reports: Reports = None,
    wait: Annotated[
        float | None,
        typer.Option("--wait", min=0, help="Seconds to wait if another run holds the warehouse (default 0: stop)."),
    ] = None,
    accept_rejected: Annotated[
        bool,
        typer.Option(
            "--accept-rejected",
            help="Publish even though inbox files were rejected (exit 65 otherwise); the summary lists them.",
        ),
    ] = False,
    allow_future: Annotated[
        bool,
        typer.Option("--allow-future", help="Accept a run date later than tomorrow (UTC)."),
    ] = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Recompute tonight's state from all records, not only what changed since the current night.",
        ),
    ] = False,
) -> None:
    """One nightly run as of DATE: ingest, transform (dbt build), quality gate, reports, publish.

    A date after the current night is a new night, the current night's date re-runs it, an earlier
    date is a backfill (archived beside the warehouse; the current night stays). Exit codes: 0
    published; 1 a step failed; 2 wrong usage; 3 a check failed; 65 input rejected; 75 another run
    holds the warehouse. On any non-zero exit nothing was published.
    """
    settings = load_settings(
        as_of=parse_as_of(as_of),
        inbox=inbox,
        catalog=catalog,
        warehouse=warehouse,
        reports=reports,
        lock_wait_seconds=wait,
        accept_rejected=accept_rejected or None,
        allow_future=allow_future or None,
        full_refresh=full_refresh or None,
    )
    from pipelines.core.nights import check_usage
    from pipelines.publishing.publish import check_folders_and_lock

    start_logging("nightly", settings)
    # Wrong usage, unwritable folders and a held lock are found before Prefect starts (seconds, not ~20 s).
    resolved = settings.resolved()
    check_readable(resolved.warehouse)
    check_usage(resolved, resolved.allow_future)
    check_folders_and_lock(
        resolved.lock_file, (resolved.warehouse.parent, resolved.reports), resolved.lock_wait_seconds
    )
    check_prefect_usage(resolved.dbt_node_tasks, resolved.prefect_temporary_server)
    announce_start("nightly", resolved)
    prepare_nightly_process(settings.prefect_temporary_server, current_run_log())
    start_logging("nightly", settings)  # Prefect, now imported, replaced the root logger's handlers
    from pipelines.flows.nightly import run_nightly

    summary = run_nightly(settings)
    print_summary(summary.render())


@app.command()
def nights(warehouse: Warehouse = None) -> None:
    """List the current night and the archived (backfilled) nights: when they ran, catalogue and policy used."""
    settings = load_settings(warehouse=warehouse)
    from pipelines.publishing.nights import describe_nights

    typer.echo(describe_nights(settings.warehouse.resolve()))


@app.command()
def generate(
    members: Annotated[int, typer.Option("--members", min=1, help="Number of members to generate.")],
    out: Annotated[Path, typer.Option("--out", help="Inbox folder to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 42,
    as_of: AsOf = None,
    catalog: Catalog = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Delete the files already in the inbox's source folders first."),
    ] = False,
) -> None:
    """Write a realistic synthetic inbox (members, registrations, service jobs) for the catalogue.

    The inbox's source folders must be empty, unless --replace is given.
    """
    settings = load_settings(as_of=parse_as_of(as_of), catalog=catalog)
    from tools.synthetic.generate import generate_inbox

    result = generate_inbox(
        out=out, members=members, seed=seed, as_of=settings.as_of, catalog_dir=settings.catalog, replace=replace
    )
    typer.echo(result.render())


@app.command()
def demo(
    members: Annotated[int, typer.Option("--members", min=1, help="Members in the demo inbox.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
) -> None:
    """Generate a demo inbox and run `cps nightly` on it with the default paths."""
    settings = load_settings()
    start_logging("demo", settings)
    check_prefect_usage(settings.dbt_node_tasks, settings.prefect_temporary_server)
    announce_start("demo", settings)
    prepare_nightly_process(settings.prefect_temporary_server, current_run_log())
    start_logging("demo", settings)  # Prefect, now imported, replaced the root logger's handlers
    from pipelines.flows.nightly import run_nightly
    from tools.synthetic.generate import generate_inbox

    if not any(settings.inbox.glob("*/*")):
        result = generate_inbox(
            out=settings.inbox,
            members=members,
            seed=seed,
            as_of=settings.as_of,
            catalog_dir=settings.catalog,
        )
        typer.echo(result.render())
    else:
        typer.echo(f"Using the inbox already in {settings.inbox}")
    summary = run_nightly(settings)
    print_summary(summary.render())


@app.command()
def explain(
    member_id: Annotated[str, typer.Argument(help="The member to explain.")],
    as_of: AsOf = None,
    warehouse: Warehouse = None,
) -> None:
    """Print a member's points product by product, and what would reach the next level."""
    settings = load_settings(warehouse=warehouse)
    start_logging("explain", settings)  # another night may be rebuilt aside with dbt: its progress, its log
    from rich.console import Console

    from pipelines.publishing.explain import explain_member

    # Piped or redirected, rich would assume 80 columns; a wider page keeps rows on one line.
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
    Console(highlight=False, width=width).print(explain_member(settings, member_id, parse_as_of(as_of)))


@app.command()
def docs(
    warehouse: Warehouse = None,
    reports: Reports = None,
) -> None:
    """Build the dbt docs of the published night as one static page: <reports>/docs/index.html.

    dbt works on a copy of the warehouse; the published file is only read.
    """
    settings = load_settings(warehouse=warehouse, reports=reports)
    start_logging("docs", settings)
    from pipelines.publishing.explain import published_night
    from pipelines.transformation.dbt_docs import build_docs_from_published

    night = published_night(settings.warehouse) if settings.warehouse.is_file() else None
    page = build_docs_from_published(settings.warehouse, night or settings.as_of, settings.reports / "docs")
    typer.echo(f"dbt docs of the night {night or '(none published)'}: {page}")


@app.command()
def forecast(
    as_of: AsOf = None,
    days: Annotated[
        int | None,
        typer.Option("--days", help="Days ahead for the weekly drops (default: at_risk_days of the policy)."),
    ] = None,
    warehouse: Warehouse = None,
) -> None:
    """Members at risk of a lower level, and the level drops per week, from the published night."""
    settings = load_settings(warehouse=warehouse)
    from rich.console import Console

    from pipelines.publishing.forecast import forecast as print_forecast

    print_forecast(settings, parse_as_of(as_of), days, Console())


def _policy_help() -> str:
    # from the policy itself: every command builds this help, and the simulation's modules (dbt's runner
    # among them) would be imported at each start for it
    from pipelines.core.policy import describe_policy

    return "A policy value as NAME=VALUE (repeatable). Names and shipped values: " + describe_policy()


@app.command()
def simulate(
    set_: Annotated[list[str], typer.Option("--set", help=_policy_help())],
    as_of: AsOf = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Folder name under <reports>/simulations/ (default: a timestamp).")
    ] = None,
    warehouse: Warehouse = None,
    reports: Reports = None,
) -> None:
    """What-if: night D with other policy values, built aside, compared with the published night.

    The published warehouse is never written. Prints the level migration matrix and the before / after /
    difference of members by level, welcome packs newly due, invitations, Fast Track jobs and loans owed;
    writes an HTML page and CSVs under <reports>/simulations/.
    """
    settings = load_settings(warehouse=warehouse, reports=reports)
    from rich.console import Console

    from pipelines.publishing.simulate import render_comparison
    from pipelines.publishing.simulate import simulate as run_simulation
    from reports.simulation import write_simulation

    comparison = run_simulation(settings, set_, parse_as_of(as_of))
    folder_name = name or datetime.now().strftime("%Y%m%d-%H%M%S")
    page = write_simulation(
        settings.reports / "simulations" / folder_name,
        folder_name,
        comparison.night.isoformat(),
        dict(comparison.settings),
        comparison.baseline,
        comparison.matrix,
        comparison.measures,
    )
    console = Console()
    render_comparison(comparison, console)
    console.print(f"Written: {page}")


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option("--cron", help="Cron schedule (default 0 2 * * *).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Time zone of the schedule (default Europe/London).")
    ] = None,
) -> None:
    """Register the nightly deployment on a Prefect server with a cron schedule, and serve it."""
    settings = load_settings(schedule_cron=cron, schedule_timezone=timezone)
    from pipelines.flows.serve import serve_nightly

    serve_nightly(settings)


@app.command()
def bench(
    sizes: Annotated[
        str,
        typer.Option("--sizes", help="Comma-separated member counts, e.g. 10000,100000,1000000 (empty: none)."),
    ] = "10000,100000",
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where inboxes and warehouses are generated (and reused).")
    ] = Path("data/bench"),
    output: Annotated[
        Path | None, typer.Option("--output", help="Markdown file to append this run's section to.")
    ] = None,
    nights: Annotated[
        int,
        typer.Option("--nights", min=0, help="Growth run: this many consecutive nights (0: none; at least 3)."),
    ] = 0,
    growth_size: Annotated[int, typer.Option("--growth-size", min=1, help="Members in the growth run.")] = 100_000,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Growth run: runs of night 2 and of the last night (median).")
    ] = 3,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Reuse the measurements an interrupted run left in --workdir."),
    ] = False,
) -> None:
    """Issue 13's targets side by side: the nightly run against pandas, polars and a hand-written DuckDB query.

    At each size: night 1 (empty warehouse) and night 2 (the day after, about 1% changed), each
    `cps nightly` run as a subprocess. With --nights: consecutive nights at --growth-size, the last
    against the second. Generated inboxes are reused from --workdir.
    """
    load_settings()
    from tools.bench.run import run_benchmarks

    try:
        member_counts = [int(size) for size in sizes.split(",") if size.strip()]
    except ValueError:
        raise UsageError(f"bad --sizes {sizes!r}: use member counts, e.g. 10000,100000") from None
    command = f"cps bench --sizes {sizes}" + (
        f" --nights {nights} --growth-size {growth_size} --repeats {repeats}" if nights else ""
    )
    typer.echo(
        run_benchmarks(
            member_counts,
            workdir=workdir,
            output=output,
            nights=nights,
            growth_size=growth_size,
            repeats=repeats,
            resume=resume,
            command=command,
        )
    )


def command_of(context: typer.Context | None) -> str:
    """`cps nightly`: the command a usage error is about, whatever the program was called (python -m ...)."""
    names = []
    while context is not None and context.parent is not None:
        names.append(context.info_name or "")
        context = context.parent
    return " ".join(["cps", *reversed(names)])


_stopped_by: list[int] = []


def _stop(signal_number: int, frame: object) -> None:
    """Ctrl-C (SIGINT) and a scheduler's stop (SIGTERM) end the command alike, down to dbt cancelling its
    queries (it does so for KeyboardInterrupt); main then says which it was, whatever failed after it."""
    _stopped_by.append(signal_number)
    raise KeyboardInterrupt


def stopped_exit_code() -> int:
    """After a stop signal: its one line, and the exit code a shell reports for it (130, 143)."""
    if _stopped_by and _stopped_by[0] == signal.SIGTERM:
        reason, code = "stopped by SIGTERM", TERMINATED
    else:
        reason, code = "interrupted (Ctrl-C)", INTERRUPTED
    print(f"cps: {reason}; a night stopped before publishing left the published night as it was", file=sys.stderr)
    return code


def report_failure(error: Exception) -> int:
    """The one line of a failed command (its traceback in the run log) and the exit code."""
    if isinstance(error, CpsError):
        if current_run_log() is not None:
            DETAIL.error("cps: %s", error, exc_info=error)
        print(f"cps: {with_log_hint(str(error))}", file=sys.stderr)
        return error.exit_code
    if isinstance(error, duckdb.OutOfMemoryException):  # DuckDB could neither fit nor spill within the limit
        if current_run_log() is not None:
            DETAIL.error("out of memory", exc_info=error)
        first_line = (str(error).splitlines() or [""])[0]
        print(f"cps: {with_log_hint(out_of_memory_problem(first_line))}", file=sys.stderr)
        return 1
    if isinstance(error, OSError):  # a file-system error anywhere: one line naming the path, never a traceback
        if current_run_log() is not None:
            DETAIL.error("file-system error", exc_info=error)
        print(f"cps: {with_log_hint(file_system_problem(error))}", file=sys.stderr)
        return 1
    # a bug or an unforeseen failure: one line here, the traceback in the run log (or on the console when
    # this command keeps none)
    first_line = (str(error).splitlines() or [""])[0]
    DETAIL.error("unexpected error", exc_info=error)
    print(f"cps: {with_log_hint(f'unexpected {type(error).__name__}: {first_line}')}", file=sys.stderr)
    return 1


def main() -> None:
    quiet_console()  # also covers the output of the flow runs `cps serve` starts
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        # Not click's standalone mode: its usage errors are a framed block of lines; here they are one line.
        returned = app(standalone_mode=False)
        code = returned if isinstance(returned, int) else 0  # typer.Exit's code (130 after Ctrl-C)
        if code == INTERRUPTED or _stopped_by:
            code = stopped_exit_code()
    except typer.TyperException as error:  # typer's own click: a bad option or value is wrong usage (exit 2)
        if type(error).__name__ == "NoArgsIsHelpError":  # `cps` alone: the help, as typer shows it
            # typer's rich help is printed as the error is made, leaving click an empty message to show
            if error.format_message():
                error.show()  # type: ignore[attr-defined]
        else:
            context = getattr(error, "ctx", None)
            print(f"cps: {error.format_message()} (see `{command_of(context)} --help`)", file=sys.stderr)
        code = error.exit_code
    except typer.Abort:
        print("cps: aborted", file=sys.stderr)
        code = 1
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as error:  # after a stop signal, whatever failed because of it is that stop
        code = stopped_exit_code() if _stopped_by else report_failure(error)
    exit_without_cleanup(code)  # exit handlers (they stop a temporary Prefect server), then no noise


if __name__ == "__main__":
    main()
