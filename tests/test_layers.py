"""The house rule: imports only go down (fast: reads the source, imports nothing).

Every import of one of our modules, at the top of a file or inside a function, must reach a lower
layer, or a module of the same subpackage. A lazy import may keep a heavy module off the question
path, but never reach back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYERS = [
    ("qa.errors", "qa.models", "qa.text"),
    ("qa.config",),
    ("qa.corpus", "qa.search", "qa.neural"),
    ("qa.store",),
    ("qa.answer",),
    ("qa.service", "qa.present"),
    ("qa.evaluation", "tui"),
    ("qa.training",),
    ("qa.cli",),
]


def _unit(module: str) -> str:
    """The unit a module belongs to: its subpackage (``qa.store``) or itself (``qa.service``)."""
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    raise AssertionError(f"{module} is in no layer; add it to LAYERS")


def _level(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*(ROOT / "qa").rglob("*.py"), *(ROOT / "tui").rglob("*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative: resolve against this package
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{base}" if base else package
            names = [f"{base}.{a.name}" for a in node.names]
            out += [(node.lineno, n if n.split(".")[-1][:1].islower() else base) for n in names
                    if n != "qa.__version__"]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in out if name.split(".")[0] in ("qa", "tui")]


def test_imports_only_go_down() -> None:
    modules = _modules()
    wrong = []
    for module, path in modules.items():
        if module in ("qa", "qa.__main__"):  # the public surface and the entry point sit above it all
            continue
        unit = _unit(module)
        for line, name in _imports(path, module):
            target = name if name in modules else name.rsplit(".", 1)[0]
            if target in ("qa",):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the package root {name}")
                continue
            other = _unit(target)
            if other != unit and _level(other) >= _level(unit):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {unit} imports {target} ({other}, not below it)")
    assert not wrong, "\n".join(wrong)


LONG_WITH_REASON = {
    "tui/app.py": "Textual finds the app's actions and message handlers as methods of the App class",
}


def test_no_module_is_too_long() -> None:
    """About 400 lines at most: a longer module does several jobs (or says why it does not)."""
    long = {name: n for p in _modules().values()
            if (name := str(p.relative_to(ROOT))) not in LONG_WITH_REASON
            and (n := len(p.read_text().splitlines())) > 420}
    assert not long, long


LONG_FUNCTIONS_WITH_REASON = {
    "qa/evaluation/synthetic.py:generate_folder": "one branch per article format, each writing its file",
    "qa/evaluation/bench.py:indexing": "one measured scenario, setup to teardown, timed in the order it runs",
    "qa/evaluation/bench.py:folder_indexing": "one measured scenario, setup to teardown, timed in the order it runs",
    "qa/evaluation/bench_report.py:render": "the report's lines in the order they print",
}


def test_no_function_is_too_long() -> None:
    """About 60 lines at most: a longer function does several steps that can be named (or says why
    it does not)."""
    long = {}
    for p in _modules().values():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{p.relative_to(ROOT)}:{node.name}"
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 62 and name not in LONG_FUNCTIONS_WITH_REASON:
                    long[name] = lines
    assert not long, long
