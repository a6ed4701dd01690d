"""The engine stays pure: no Django, Celery, DRF or project app imported anywhere under detection/engine/."""

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "detection" / "engine"
FORBIDDEN = {"django", "celery", "rest_framework", "campaigns", "partners", "reports", "tracker"}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside the engine package
                continue
            names.append(node.module or "")
    return names


def offending(module: str) -> bool:
    top = module.split(".")[0]
    if top in FORBIDDEN:
        return True
    return top == "detection" and not (module == "detection.engine" or module.startswith("detection.engine."))


def test_engine_imports_nothing_of_the_framework_or_the_apps():
    files = sorted(ENGINE.rglob("*.py"))
    assert files, f"no engine files under {ENGINE}"
    bad = [f"{f.relative_to(ENGINE)}: {m}" for f in files for m in imported_modules(f) if offending(m)]
    assert bad == []


def test_the_check_catches_what_it_should():
    assert offending("django.db")
    assert offending("detection.models")
    assert offending("campaigns.services")
    assert not offending("detection.engine.arrays")
    assert not offending("numpy")
