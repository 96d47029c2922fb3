"""Every command shown in README.md works: run in a scratch folder, in the README's order.

Shell blocks run line by line (`export` lines set the environment of the lines after them);
Python blocks run after them, against what the commands built. A trailing comment starting with
`long` marks a command run with small sizes (--members, --sizes); one starting with `serves` a
command that runs until stopped: it must come up (a Prefect server answers; `cps serve` registers
its deployment with the README's schedule) and is then stopped. `scripts/demo` and `scripts/test`
are what CI runs anyway: skipped here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pipelines.core.settings import PROJECT_ROOT
from pipelines.core.warehouse import connect
from tests.prefect_server import free_port, stop

README = PROJECT_ROOT / "README.md"
BIN = Path(sys.executable).parent  # the project's environment: `uv run X` is BIN/X here
SKIPPED = ("scripts/demo", "scripts/test")
SMALL_MEMBERS = "60"
COMMAND_SECONDS = 420
SERVE_SECONDS = 150
LONG_SECONDS = 30  # a `long` command runs this long at most, then is stopped (a small `cps generate` needs ~2 s)
# The benchmark, run beside the next commands: this long to show it starts and runs (test_bench runs it whole)
BENCH_SECONDS = 12


@dataclass(frozen=True)
class ReadmeCommand:
    line: str
    marker: str  # "", "long" or "serves"


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def readme_commands(text: str) -> list[ReadmeCommand]:
    commands = []
    for block in code_blocks(text, "bash"):
        for raw in block.splitlines():
            line, _, comment = raw.partition(" #")
            line = line.strip()
            if not line or line.startswith("#") or line.startswith(SKIPPED):
                continue
            words = comment.strip().split()
            marker = words[0].rstrip(":;,") if words and words[0].rstrip(":;,") in {"long", "serves"} else ""
            commands.append(ReadmeCommand(line, marker))
    return commands


def test_the_readme_is_parsed_as_meant() -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    lines = [command.line for command in commands]
    assert "uv run cps nightly" in lines and "uv run cps --help" in lines
    assert not any(line.startswith(SKIPPED) for line in lines)
    markers = {command.line.split()[3]: command.marker for command in commands if command.line.startswith("uv run")}
    assert markers["bench"] == "long" and markers["serve"] == "serves" and markers["server"] == "serves"


def localised(argv: list[str], marker: str, port: int) -> list[str]:
    """The command as run here: the project's binaries, small sizes for long ones, our own port."""
    if argv[:2] == ["uv", "run"]:
        argv = [str(BIN / argv[2]), *argv[3:]]
    if marker == "long":
        for flag, small in (("--members", SMALL_MEMBERS), ("--sizes", SMALL_MEMBERS)):
            if flag in argv:
                argv[argv.index(flag) + 1] = small
    if "server" in argv and "start" in argv:
        argv += ["--host", "127.0.0.1", "--port", str(port)]
    return argv


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class StartedCommand:
    """A command running in its own process group, its output going to files named after it."""

    argv: list[str]
    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    deadline: float  # time.monotonic() after which it is stopped
    stopped: bool = False  # still running at its deadline

    @classmethod
    def start(cls, argv: list[str], cwd: Path, env: dict[str, str], budget: float, name: str) -> StartedCommand:
        out, err = cwd / f"{name}.out", cwd / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
        return cls(argv, process, out, err, time.monotonic() + budget)

    def finish(self) -> subprocess.CompletedProcess[str]:
        """Its end, or at its deadline stopped (a long command that has not failed by then passes)."""
        try:
            returncode = self.process.wait(max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stop(self.process)
            self.stopped, returncode = True, -1
        return subprocess.CompletedProcess(
            self.argv, returncode, self.out.read_text(errors="replace"), self.err.read_text(errors="replace")
        )


def run_command(argv: list[str], cwd: Path, env: dict[str, str], budget: float) -> subprocess.CompletedProcess[str]:
    """Run to the end, or for `budget` seconds (then stopped: a long command that has not failed by then passes)."""
    command = StartedCommand.start(argv, cwd, env, budget, "command")
    result = command.finish()
    if command.stopped and budget < COMMAND_SECONDS:
        result.returncode = 0
    return result


def in_the_background(argv: list[str], marker: str) -> bool:
    """The benchmark works in a folder of its own (data/bench) that no later command reads: while it runs
    for its BENCH_SECONDS, the README's next commands run too (the suite's wall time, not the check, is saved)."""
    return marker == "long" and argv[1:2] == ["bench"]


def check_command(line: str, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{line}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, f"{line}\n{result.stderr[-3000:]}"


def wait_until(ready, process: subprocess.Popen[bytes], log: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + SERVE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"did not come up in {SERVE_SECONDS} s:\n{log.read_text()[-3000:]}")


def expected_schedule(argv: list[str]) -> tuple[str, str]:
    cron = argv[argv.index("--cron") + 1] if "--cron" in argv else "0 2 * * *"
    timezone = argv[argv.index("--timezone") + 1] if "--timezone" in argv else "Europe/London"
    return cron, timezone


def deployment_schedule(api: str) -> tuple[str, str] | None:
    response = httpx.get(f"{api}/deployments/name/cps-nightly/nightly", timeout=5)
    if response.status_code != 200 or not response.json()["schedules"]:
        return None
    schedule = response.json()["schedules"][0]["schedule"]
    return schedule["cron"], schedule["timezone"]


@pytest.mark.timeout(1800)
def test_every_readme_command_works_in_a_scratch_folder(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPS_", "PREFECT_API"))}
    # As a new user runs them: no Prefect server until the README starts one and exports its URL
    # (`cps serve`, below); the nights before run their steps without Prefect.
    env.update(PREFECT_HOME=str(tmp_path / "prefect"))
    serving: list[subprocess.Popen[bytes]] = []
    background: dict[str, StartedCommand] = {}
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for index, command in enumerate(readme_commands(text)):
            line = command.line.replace("4200", str(port))
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
                continue
            argv = localised(shlex.split(line), command.marker, port)
            if command.marker == "serves":
                log = tmp_path / f"serve-{index}.log"
                process = subprocess.Popen(
                    argv, cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
                )
                serving.append(process)
                if "server" in argv:
                    api = f"http://127.0.0.1:{port}/api"
                    wait_until(lambda api=api: httpx.get(f"{api}/health", timeout=2).status_code == 200, process, log)
                else:
                    wanted = expected_schedule(argv)
                    api = env["PREFECT_API_URL"]
                    wait_until(lambda api=api, wanted=wanted: deployment_schedule(api) == wanted, process, log)
                    stop(process)  # one `cps serve` at a time
                continue
            if in_the_background(argv, command.marker):
                background[command.line] = StartedCommand.start(argv, tmp_path, env, BENCH_SECONDS, f"long-{index}")
                continue
            started = time.perf_counter()
            published = tmp_path / "data" / "warehouse" / "cps.duckdb"
            # While the docs are built, an analyst reads the published file: dbt must not open it.
            analyst = connect(published, read_only=True) if "cps docs" in line else None
            before = file_digest(published) if analyst else ""
            try:
                budget = LONG_SECONDS if command.marker == "long" else COMMAND_SECONDS
                result = run_command(argv, tmp_path, env, budget)
            finally:
                if analyst is not None:
                    analyst.close()
            assert not analyst or file_digest(published) == before, "cps docs changed the published warehouse"
            outputs[command.line] = result
            print(f"{time.perf_counter() - started:6.1f} s  {line}")
            check_command(line, result)
        for line, started_command in background.items():
            result = started_command.finish()
            if started_command.stopped:
                result.returncode = 0  # still running at its deadline: not failed
            outputs[line] = result
            check_command(line, result)
    finally:
        for process in [*serving, *(started_command.process for started_command in background.values())]:
            stop(process)

    # The Python blocks read as one session: a later block uses what an earlier one imported.
    script = "\n".join(code_blocks(text, "python"))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{script}\n{result.stderr[-3000:]}"

    # What the README promises of those commands.
    explained = next(result for line, result in outputs.items() if "explain" in line)
    assert "Member M00000042 as of" in explained.stdout
    connection = connect(tmp_path / "data" / "warehouse" / "cps.duckdb", read_only=True)
    try:
        registrations = connection.execute(
            "select registration_id from marts.fct_registrations where member_id = 'M00000042'"
        ).fetchall()
    finally:
        connection.close()
    for (registration_id,) in registrations:
        assert registration_id in explained.stdout
    assert registrations or "(no products registered)" in explained.stdout
    nightly = outputs["uv run cps nightly"]
    # Its output captured (not a terminal): the summary on stdout and nothing else; progress in its run log.
    assert nightly.stderr == "", nightly.stderr
    assert not re.search(r"dbt build \d+/", nightly.stdout), "stdout is the summary"
    night_logs = sorted((tmp_path / "data" / "logs").glob("nightly_*.log"))
    assert len(night_logs) >= 2, "one log per run"
    logged = "\n".join(log.read_text(encoding="utf-8") for log in night_logs)
    assert re.search(r"ingest members/\S+ loaded: [\d,]+ rows", logged)
    assert re.search(r"dbt build \d+/\d+ fct_registrations success", logged)
    docs = (tmp_path / "data" / "reports" / "docs" / "index.html").read_text(encoding="utf-8")
    for exposure in ("overview_page", "sla_page", "marketing_page", "invitations_list", "completion_campaign_list"):
        assert f'"exposure.cps.{exposure}"' in docs, "lineage should reach the reports and lists"
    assert (tmp_path / "data" / "reports" / "2026-11-20" / "docs" / "index.html").is_file()


def test_a_failed_command_names_its_log(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPS_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    result = subprocess.run(
        [str(BIN / "cps"), "nightly", "--inbox", "no-such-inbox"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    match = re.fullmatch(
        r"cps: inbox folder not found: .* \(details: (data/logs/nightly_[\d-]+_\d{6}\.log)\)", lines[0]
    )
    assert match, lines[0]
    assert "inbox folder not found" in (tmp_path / match.group(1)).read_text(encoding="utf-8")


def test_version_and_typed_dates_in_help() -> None:
    version = subprocess.run([str(BIN / "cps"), "--version"], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"cps \d+\.\d+\.\d+\n", version.stdout)
    helped = subprocess.run(
        [str(BIN / "cps"), "nightly", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert re.search(r"--as-of\s+YYYY-MM-DD", helped.stdout)
