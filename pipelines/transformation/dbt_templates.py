"""Each model's, test's and macro's Jinja source compiled once, not once per build or per process.

dbt renders a node's SQL by compiling its Jinja source into Python code and running it with the
node's context. It keeps the compiled code of macros for the life of the process, but compiles each
node's own source again every time it renders it: ~4 ms a node, ~0.5 s a build of 120 nodes. A
process that builds several nights (the test suite's nights run in-process, `cps simulate`, the
equality test's rebuilds) compiled the same sources each time. Here the compiled code is kept per
source (and kind of environment); every render still gets its own template, environment and
globals, exactly as dbt makes them: only Jinja's parse and code generation are not repeated.

A night is a process of its own, so the code is also kept on disk between processes, as Jinja's own
bytecode cache does for file templates: every night compiled the same ~460 sources (~340 of nodes and
test arguments, ~120 macros) again, ~1.2 s of the interpreter's time a night whatever its size. One
file in the dbt parse cache folder (dbt_parse_cache.parse_cache_dir), named after the versions that
shape the code (Python's bytecode, Jinja, dbt): another version starts a file of its own. A file
that cannot be read or written is skipped (the sources are compiled, as before).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import logging
import marshal
import threading
from pathlib import Path
from types import CodeType
from typing import Any

from pipelines.core.files import write_beside_then_rename
from pipelines.transformation.dbt_adjustments import replace_once

_compiled: dict[tuple[str, bool], CodeType] = {}
_used: set[tuple[str, bool]] = set()  # the sources this process rendered
_on_disk: dict[Path, set[tuple[str, bool]]] = {}  # each cache file read: the sources it held when last read or written
_cache_lock = threading.Lock()
# A file holding more sources than this keeps only those the saving process rendered (sources that
# change, e.g. after many project versions, do not pile up).
MAX_CACHED_SOURCES = 5000


def get_template_compiled_once(
    string: str, ctx: dict[str, Any], node: Any = None, capture_macros: bool = False, native: bool = False
) -> Any:
    """dbt-common's get_template (a new environment, the template's globals from ctx), with the code cached."""
    from dbt_common.clients.jinja import catch_jinja, get_environment

    with catch_jinja(node):
        environment = get_environment(node, capture_macros, native=native)
        source = str(string)
        key = (source, native)  # native: another code generator; capture_macros changes only runtime
        if code_cache_file() not in _on_disk:
            load_compiled_templates()
        code = _compiled.get(key)
        if code is None:
            code = _compiled[key] = environment.compile(source)
        _used.add(key)
        # what Environment.from_string does after compiling
        return environment.template_class.from_code(environment, code, environment.make_globals(ctx))


@functools.cache
def _versions_digest() -> str:
    versions = [importlib.util.MAGIC_NUMBER.hex()]
    versions += [importlib.metadata.version(package) for package in ("jinja2", "dbt-common", "dbt-core")]
    return hashlib.sha256(" ".join(versions).encode()).hexdigest()[:16]


def code_cache_file() -> Path:
    """The cache file for this Python bytecode and these versions of Jinja, dbt-common and dbt-core."""
    from pipelines.transformation.dbt_parse_cache import parse_cache_dir

    return parse_cache_dir() / f"jinja-code.{_versions_digest()}.marshal"


def load_compiled_templates() -> None:
    """Add the cache file's compiled sources to this process's (once per process and file)."""
    path = code_cache_file()
    with _cache_lock:
        if path in _on_disk:
            return
        _on_disk[path] = set()
        try:
            entries = marshal.loads(path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, EOFError, ValueError, TypeError) as error:
            logging.getLogger(__name__).info("compiled dbt templates not read from %s: %s", path, error)
            return
        if not isinstance(entries, dict):
            return
        for key, code in entries.items():
            if isinstance(key, tuple) and isinstance(code, CodeType):
                _compiled.setdefault(key, code)
                _on_disk[path].add(key)


def save_compiled_templates() -> None:
    """Write the process's compiled sources to the cache file if it lacks some (written aside, renamed
    into place: a reader never sees half a file)."""
    load_compiled_templates()  # what the file holds is kept (another process may have added to it)
    path = code_cache_file()
    with _cache_lock:
        if _compiled.keys() <= _on_disk[path]:
            return
        entries = dict(_compiled)
        if len(entries) > MAX_CACHED_SOURCES:
            entries = {key: code for key, code in entries.items() if key in _used}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_beside_then_rename(path, lambda partial: partial.write_bytes(marshal.dumps(entries)))
        except OSError as error:
            logging.getLogger(__name__).info("compiled dbt templates not written to %s: %s", path, error)
            return
        _on_disk[path] = set(entries)


def compile_node_templates_once() -> None:
    """Make dbt render nodes, test arguments and macros from the process's cache of compiled templates;
    idempotent. dbt-core and dbt-common each hold get_template (dbt-common's renders the macros)."""
    import dbt.clients.jinja as dbt_jinja
    import dbt_common.clients.jinja as dbt_common_jinja

    replace_once(dbt_jinja, "get_template", get_template_compiled_once)
    replace_once(dbt_common_jinja, "get_template", get_template_compiled_once)
