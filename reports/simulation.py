"""A what-if comparison (`cps simulate`) as an HTML page and CSVs: before, after, difference."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from pipelines.core.policy import level_order
from reports.exports import write_safe_csv

PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>What-if {{ name }} · CPS {{ night }}</title>
<style>
 body { font: 14px/1.5 "Segoe UI", Arial, sans-serif; color: #1f2933; margin: 24px 32px; }
 table { border-collapse: collapse; margin: 8px 0 24px; }
 th, td { border: 1px solid #e3e7ec; padding: 4px 10px; }
 td.n { text-align: right; font-variant-numeric: tabular-nums; }
 .moved { background: #fff3cd; }
</style></head><body>
<h1>What-if: night {{ night }} with {{ settings }}</h1>
<p>Compared with the {{ baseline }}. Simulated in a copy of the warehouse; nothing was published.</p>
<h2>Level migration (members: level now by simulated level)</h2>
<table><tr><th>level now \\ simulated</th>{% for level in levels %}<th>{{ level }}</th>{% endfor %}</tr>
{% for now in levels %}<tr><th>{{ now }}</th>{% for simulated in levels %}
<td class="n{% if now != simulated and matrix.get((now, simulated)) %} moved{% endif %}">
{{ matrix.get((now, simulated), 0) }}</td>
{% endfor %}</tr>{% endfor %}</table>
<h2>Before, after, difference</h2>
<table><tr><th>measure</th><th>before</th><th>after</th><th>difference</th></tr>
{% for name, before, after in measures %}<tr><td>{{ name }}</td><td class="n">{{ before }}</td>
<td class="n">{{ after }}</td><td class="n">{{ "%+d" % (after - before) }}</td></tr>{% endfor %}</table>
<p>Data: <a href="level_migration.csv">level_migration.csv</a>, <a href="comparison.csv">comparison.csv</a></p>
</body></html>
"""
)


def write_simulation(
    folder: Path,
    name: str,
    night: str,
    settings: dict[str, object],
    baseline: str,
    matrix: list[tuple[str, str, int]],
    measures: list[tuple[str, int, int]],
) -> Path:
    """Writes index.html, level_migration.csv and comparison.csv into `folder`; returns the page."""
    folder.mkdir(parents=True, exist_ok=True)
    write_safe_csv(
        pd.DataFrame(matrix, columns=["level_now", "level_simulated", "members"]), folder / "level_migration.csv"
    )
    frame = pd.DataFrame(measures, columns=["measure", "before", "after"])
    frame["difference"] = frame["after"] - frame["before"]
    write_safe_csv(frame, folder / "comparison.csv")
    page = folder / "index.html"
    page.write_text(
        PAGE.render(
            name=name,
            night=night,
            settings=", ".join(f"{key}={value}" for key, value in settings.items()),
            baseline=baseline,
            levels=level_order(),
            matrix={(now, simulated): members for now, simulated, members in matrix},
            measures=measures,
        ),
        encoding="utf-8",
    )
    return page
