"""Data Docs of a night as static HTML that reads offline.

GX's site builder writes one page per validated suite, but every page loads Bootstrap, jQuery, Font
Awesome and Vega from CDNs, and its index is filled in by bootstrap-table JavaScript. Offline that
index is empty. So: GX's validation and suite pages get local copies of the assets they need (jQuery
for the "failed only" filter, Font Awesome for the pass/fail icons, both from installed packages), a
small stylesheet and script in place of Bootstrap's, no newsletter footer and a link back to the
night's reports; the index is our own plain HTML page listing every expectation with its severity and
result, linking to GX's pages.

GX writes a failing column's unexpected values into its pages as raw HTML, so those values are
escaped in the stored results before the pages are built (an e-mail address holding markup must show
as text, never run).
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import fontawesomefree
import xstatic.pkg.jquery
from great_expectations.data_context import AbstractDataContext

from pipelines.quality.gx import gx_suite_name
from pipelines.quality.results import ExpectationOutcome
from pipelines.quality.suites import UNEXPECTED_ROWS

SITE_NAME = "cps_quality"
OFFLINE_STYLESHEET = "static/styles/cps_offline.css"
OFFLINE_SCRIPT = "static/scripts/cps_offline.js"
JQUERY = "static/vendor/jquery.min.js"
FONT_AWESOME = "static/vendor/fontawesome/css/all.min.css"
# The night's reports index, seen from the Data Docs folder (reports/<night>/quality/).
REPORTS_INDEX = "../index.html"
# Result fields where GX puts a column's own values (rendered by GX without escaping).
UNEXPECTED_FIELDS = ("partial_unexpected_list", "unexpected_list", "partial_unexpected_counts")
# What GX's site builder writes into the folder (cleared before each build, nothing else is touched).
GX_SITE_ENTRIES = ("index.html", "validations", "expectations", "static")

_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script\s*>", re.I | re.S)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I | re.S)
_REMOTE_CSS_URL = re.compile(r"url\(\s*[\"']?(?:https?:)?//[^)]*\)", re.I)
# Any script or stylesheet still pointing off the machine (what the offline check looks for).
REMOTE_ASSET = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//"
    r"|<img\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//|url\(\s*[\"']?(?:https?:)?//",
    re.I,
)

OFFLINE_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2733; line-height: 1.4; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #c9d1da; padding: .25rem .5rem; vertical-align: top; text-align: left; }
th { background: #eef2f6; }
.container, .container-fluid, .row, .col-12, .card { display: block; width: auto; }
.card { border: 1px solid #dde3ea; border-radius: 4px; padding: .5rem 1rem; margin: .5rem 0; }
.d-none, .sr-only, .modal, .ge-index-page-table-header-row .fas { display: none; }
.text-danger, .failed, .critical { color: #b3261e; font-weight: 600; }
.text-success, .passed { color: #1e7b34; }
.warning { color: #9a6700; font-weight: 600; }
code, pre { background: #f4f6f8; padding: .1rem .25rem; white-space: pre-wrap; }
.cps-back { display: block; margin: 0 0 1rem; }
.collapse:not(.show) { display: none; }
.btn { border: 1px solid #c9d1da; background: #f4f6f8; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
"""

# What GX's pages call on Bootstrap's jQuery plugins, done without Bootstrap: the walkthrough modal is
# not shown, "collapse" toggles open and shut.
OFFLINE_JS = """
(function ($) {
  if (!$) { return; }
  $.fn.modal = $.fn.modal || function () { return this; };
  $.fn.popover = $.fn.popover || function () { return this; };
  $.fn.tooltip = $.fn.tooltip || function () { return this; };
  $(document).on("click", "[data-toggle=collapse]", function (event) {
    var target = $(this).attr("data-target") || $(this).attr("href");
    if (target && target.charAt(0) === "#") { event.preventDefault(); $(target).toggleClass("show"); }
  });
})(window.jQuery);
"""
DATA_DOCS_INDEX = "index.html"  # the site's entry page, in its folder
_NEWSLETTER_FOOTER = re.compile(r"<footer>.*?</footer>", re.I | re.S)
# GX links a favicon one folder too shallow from its validation pages; the pages need none.
_FAVICON = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?shortcut icon[^>]*>", re.I)


def build_data_docs(
    context: AbstractDataContext,
    data_docs_dir: Path,
    as_of: date,
    run_at: datetime,
    outcomes: Iterable[ExpectationOutcome],
) -> Path:
    """Build the site into `data_docs_dir`, make it offline and write its index; returns the index."""
    data_docs_dir.mkdir(parents=True, exist_ok=True)
    for entry in GX_SITE_ENTRIES:
        _remove(data_docs_dir / entry)
    context.add_data_docs_site(
        site_name=SITE_NAME,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    escape_unexpected_values(context)
    context.build_data_docs(site_names=[SITE_NAME], build_index=False)  # the site's index is ours (below)
    copy_assets(data_docs_dir)
    for page in data_docs_dir.rglob("*.html"):
        make_offline(page, data_docs_dir)
    for css in data_docs_dir.rglob("*.css"):
        css.write_text(_REMOTE_CSS_URL.sub("none", css.read_text(encoding="utf-8")), encoding="utf-8")
    index = data_docs_dir / DATA_DOCS_INDEX
    index.write_text(render_index(as_of, run_at, list(outcomes), data_docs_dir), encoding="utf-8")
    return index


def escape_unexpected_values(context: AbstractDataContext) -> None:
    """HTML-escape the column values kept in every stored validation result (GX shows them unescaped)."""
    store = context.validation_results_store
    for key in store.list_keys():
        suite_result = store.get(key)
        for result in suite_result.results:
            details = result.result or {}
            for field in UNEXPECTED_FIELDS:
                if field in details:
                    details[field] = _escaped(details[field])
        store.set(key, suite_result)


def _escaped(value: object) -> object:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    return value


def copy_assets(data_docs_dir: Path) -> None:
    """Our stylesheet and script, jQuery and Font Awesome (CSS and fonts) into the site's static folder."""
    for relative, text in ((OFFLINE_STYLESHEET, OFFLINE_CSS), (OFFLINE_SCRIPT, OFFLINE_JS)):
        target = data_docs_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    jquery = data_docs_dir / JQUERY
    jquery.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js", jquery)
    font_awesome = Path(fontawesomefree.__file__).parent / "static" / "fontawesomefree"
    target = (data_docs_dir / FONT_AWESOME).parent.parent
    shutil.copytree(font_awesome / "css", target / "css", dirs_exist_ok=True)
    shutil.copytree(font_awesome / "webfonts", target / "webfonts", dirs_exist_ok=True)


def make_offline(page: Path, site: Path) -> None:
    """Remote assets out, local ones in; no newsletter footer; a link back to the night's reports."""
    text = page.read_text(encoding="utf-8")
    for pattern in (_REMOTE_SCRIPT, _REMOTE_LINK, _REMOTE_IMAGE):
        text = pattern.sub("", text)
    text = _REMOTE_CSS_URL.sub("none", text)
    text = _FAVICON.sub("", _NEWSLETTER_FOOTER.sub("", text))

    def local(relative: str) -> str:
        return html.escape(os.path.relpath(site / relative, page.parent))

    head = (
        f'<link rel="stylesheet" href="{local(FONT_AWESOME)}">\n'
        f'<link rel="stylesheet" href="{local(OFFLINE_STYLESHEET)}">\n'
        f'<script src="{local(JQUERY)}"></script>\n<script src="{local(OFFLINE_SCRIPT)}"></script>\n'
    )
    text = re.sub(r"</head>", lambda _: head + "</head>", text, count=1, flags=re.I)
    back = f'<a class="cps-back" href="{local(REPORTS_INDEX)}">← Back to the night\'s reports</a>'
    text = re.sub(r"<body([^>]*)>", lambda m: f"<body{m.group(1)}>\n{back}", text, count=1, flags=re.I)
    page.write_text(text, encoding="utf-8")


def remote_assets(data_docs_dir: Path) -> list[str]:
    """Scripts, stylesheets or images that would be fetched from the network (should be none)."""
    found = []
    for path in [*data_docs_dir.rglob("*.html"), *data_docs_dir.rglob("*.css")]:
        for match in REMOTE_ASSET.finditer(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(data_docs_dir)}: {match.group(0)}")
    return found


def render_index(as_of: date, run_at: datetime, outcomes: list[ExpectationOutcome], site: Path) -> str:
    pages = _validation_pages(site)
    failed_critical = [o for o in outcomes if o.failed and o.spec.severity == "critical"]
    failed_warning = [o for o in outcomes if o.failed and o.spec.severity == "warning"]
    verdict = "FAILED" if failed_critical or any(not o.evaluated for o in outcomes) else "PASSED"
    rows = []
    for outcome in sorted(outcomes, key=lambda o: (not o.failed, o.spec.severity != "critical", o.suite, o.spec.name)):
        status = "could not evaluate" if not outcome.evaluated else ("passed" if outcome.success else "failed")
        css = "passed" if status == "passed" else str(outcome.spec.severity)
        page = pages.get(gx_suite_name(outcome.suite, outcome.spec.table, outcome.spec.type == UNEXPECTED_ROWS))
        suite = html.escape(outcome.suite)
        suite_cell = f'<a href="{html.escape(page)}">{suite}</a>' if page else suite
        seen = outcome.error or outcome.observed_value or ""
        rows.append(
            "<tr>"
            f"<td>{suite_cell}</td><td><code>{html.escape(outcome.spec.name)}</code></td>"
            f"<td>{html.escape(outcome.spec.target)}</td>"
            f"<td class='{css}'>{html.escape(str(outcome.spec.severity))}</td>"
            f"<td class='{css}'>{status}</td><td>{html.escape(outcome.spec.description)}</td>"
            f"<td>{html.escape(str(seen))}</td><td>{html.escape(_sample_text(outcome))}</td>"
            "</tr>"
        )
    links = "".join(
        f'<li><a href="{html.escape(path)}">{html.escape(name)}</a></li>' for name, path in sorted(pages.items())
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CPS data quality {as_of}</title>
<link rel="stylesheet" href="{OFFLINE_STYLESHEET}"></head>
<body>
<a class="cps-back" href="{REPORTS_INDEX}">← Back to the night's reports</a>
<h1>CPS data quality — night of {as_of}</h1>
<p>Gate: <strong class="{"critical" if verdict == "FAILED" else "passed"}">{verdict}</strong>
 · checked at {run_at:%Y-%m-%d %H:%M:%S} UTC · {len(outcomes)} expectations ·
 {len(failed_critical)} critical failures · {len(failed_warning)} warnings</p>
<p>Critical: the night is not published. Warning: published and reported. The same results are in the
warehouse table <code>quality.validation_results</code>.</p>
<table><thead><tr><th>suite</th><th>expectation</th><th>target</th><th>severity</th><th>result</th>
<th>meaning</th><th>observed</th><th>examples</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Great Expectations validation pages</h2>
<ul>{links}</ul>
</body></html>
"""


def _sample_text(outcome: ExpectationOutcome) -> str:
    return "; ".join(str(item) for item in outcome.sample[:3])


def _validation_pages(site: Path) -> dict[str, str]:
    """GX suite name -> path of its newest validation page, relative to the site."""
    pages: dict[str, str] = {}
    validations = site / "validations"
    if validations.is_dir():
        for suite_dir in sorted(p for p in validations.iterdir() if p.is_dir()):
            found = sorted(suite_dir.rglob("*.html"))
            if found:
                pages[suite_dir.name] = found[-1].relative_to(site).as_posix()
    return pages


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
