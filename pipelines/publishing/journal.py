"""A night's publishing written down before it starts, so that the next run can finish or undo it.

Publishing puts the night's reports (and a backfill's archive file) in place, each replaced path kept
aside, then the warehouse in one rename. An exception in between puts everything back in the same
process; a run killed in between (SIGKILL, the machine going down) cannot, and would leave the night's
reports beside the previous night's warehouse. So the swaps are listed in a journal beside the
warehouse before the first is made, and the journal is deleted once the night is published or put
back. The next run, under the warehouse lock and before anything else, reads a journal left behind:
- the build file still there: the rename never happened; every swap is undone and the landing pages
  are written again from the night folders then present (the night published nothing);
- the build file gone: the night was published; what the swaps kept aside is deleted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.files import write_beside_then_rename
from pipelines.publishing.nights import aside_path, is_present, remove_path


def journal_path(warehouse: Path) -> Path:
    """Where a night's publishing is written down: beside the warehouse, on the same file system."""
    return warehouse.with_name(f".{warehouse.name}.publishing.json")


@dataclass(frozen=True)
class PlannedSwap:
    """A staged path to be put in place of target (swap_in), and whether target was there to keep aside."""

    staged: Path
    target: Path
    existed: bool

    @classmethod
    def of(cls, staged: Path, target: Path) -> PlannedSwap:
        return cls(staged, target, is_present(target))

    def undo(self) -> None:
        """Put back what target was before the swap, at whatever point the swap stopped."""
        aside = aside_path(self.target)
        if self.existed:
            if is_present(aside):  # moved aside: the staged path may or may not have taken its place
                if is_present(self.target):
                    remove_path(self.target)
                os.replace(aside, self.target)
        elif is_present(self.target) and not is_present(self.staged):  # the staged path took the empty place
            remove_path(self.target)

    def finish(self) -> None:
        aside = aside_path(self.target)
        if self.existed and is_present(aside):
            remove_path(aside)


@dataclass(frozen=True)
class PublishJournal:
    path: Path
    build: Path  # the night's built warehouse file, renamed onto the warehouse as the last step
    swaps: tuple[PlannedSwap, ...]

    def write(self) -> None:
        payload = {
            "build": str(self.build),
            "swaps": [
                {"staged": str(swap.staged), "target": str(swap.target), "existed": swap.existed} for swap in self.swaps
            ],
        }
        write_beside_then_rename(self.path, lambda partial: partial.write_text(json.dumps(payload), "utf-8"))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    @classmethod
    def read(cls, path: Path) -> PublishJournal:
        payload = json.loads(path.read_text(encoding="utf-8"))
        swaps = tuple(
            PlannedSwap(Path(swap["staged"]), Path(swap["target"]), bool(swap["existed"])) for swap in payload["swaps"]
        )
        return cls(path, Path(payload["build"]), swaps)


def recover_publishing(warehouse: Path, render_landing: Callable[[], object]) -> str | None:
    """Finish or undo the publishing a stopped run left half done (see the module's docstring); what
    was done, or None when there was nothing to do. render_landing writes the landing pages again."""
    path = journal_path(warehouse)
    if not path.is_file():
        return None
    try:
        journal = PublishJournal.read(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        # unreadable: written aside and renamed, so never half written; a file put there by hand
        path.unlink(missing_ok=True)
        return f"ignored an unreadable publishing journal ({error})"
    if is_present(journal.build):
        for swap in reversed(journal.swaps):
            swap.undo()
        render_landing()
        outcome = "a run stopped while publishing: its reports were taken back, nothing of it is published"
    else:
        for swap in journal.swaps:
            swap.finish()
        outcome = "a run stopped right after publishing: its night stays published, what it replaced is deleted"
    journal.remove()
    return outcome
