"""requirements.txt holds what runs (the production image installs it and nothing else);
requirements-dev.txt adds tests and tooling. Imports are read with ast and mapped to
distributions through the installed packages' own metadata."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = ("core", "tasks", "web", "workers", "simulator", "scripts", "celeryconfig.py")
DEV_CODE = ("tests", "bench")

# Runtime distributions our code never imports, and what uses them.
RUN_NOT_IMPORTED = {
    "gunicorn": "the web server (Dockerfile CMD, Procfile, compose)",
    "gevent": "gunicorn's worker class (web/gunicorn_conf.py)",
    "flower": "`celery flower`, started by scripts/flower.py",
    "msgpack": "kombu's msgpack serializer for quote batches (celeryconfig accept_content)",
    "hiredis": "redis-py's C reply parser, used whenever it is installed",
}
# Tests and tooling: never in the production image.
DEV_ONLY = {"pytest", "pytest-timeout", "hypothesis", "schemathesis", "openapi-spec-validator",
            "openapi-schema-validator", "fakeredis", "lupa", "selenium", "influxdb-client",
            "psutil", "py-spy", "ruff", "honcho"}
# Imported by dev code but installed elsewhere: bench/cryptofeed.py builds its own venv for it.
OWN_VENV = {"cryptofeed"}


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: Path) -> tuple[dict[str, str], list[str]]:
    """`{distribution: pinned line}` and the `-r` files a requirements file includes."""
    pins: dict[str, str] = {}
    includes = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", line), f"{path.name}: not pinned: {line}"
        name = canonical(line.split("==")[0])
        assert name not in pins, f"{path.name} lists {name} twice"
        pins[name] = line
    return pins, includes


RUNTIME, RUNTIME_INCLUDES = requirements(ROOT / "requirements.txt")
DEV, DEV_INCLUDES = requirements(ROOT / "requirements-dev.txt")


def python_files(parts: tuple[str, ...]) -> list[Path]:
    """Every .py file under the given folders (or the given files)."""
    files: list[Path] = []
    for part in parts:
        path = ROOT / part
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def third_party_imports(parts: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level modules imported by that code that are neither stdlib nor ours: name -> files."""
    files = python_files(parts)
    ours = {p.name for p in ROOT.iterdir() if p.is_dir()} | {p.stem for p in ROOT.glob("*.py")}
    ours |= {p.stem for p in files}  # sibling helpers tests import by bare name
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names}:
                if top not in sys.stdlib_module_names and top not in ours:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@cache
def distributions_of() -> dict[str, set[str]]:
    """Installed import names -> the distributions providing them."""
    return {module: {canonical(d) for d in dists}
            for module, dists in importlib.metadata.packages_distributions().items()}


def distributions(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    """The distributions behind imported modules: distribution -> files importing it."""
    out: dict[str, set[str]] = {}
    for module, files in modules.items():
        dists = distributions_of().get(module)
        assert dists, f"{module} (imported by {sorted(files)}) is not installed"
        for dist in dists:
            out.setdefault(dist, set()).update(files)
    return out


def test_production_requirements_hold_no_test_tools() -> None:
    """requirements.txt includes no other file and none of the test and tooling packages."""
    assert not RUNTIME_INCLUDES
    assert not DEV_ONLY & set(RUNTIME), sorted(DEV_ONLY & set(RUNTIME))


def test_every_runtime_import_is_a_runtime_requirement() -> None:
    """Each third-party module that core/, tasks/, web/, workers/, simulator/, scripts/ or
    celeryconfig.py imports comes from a distribution pinned in requirements.txt."""
    used = distributions(third_party_imports(RUNTIME_CODE))
    # The scan must see what we know is imported, or it is scanning nothing.
    assert {"celery", "flask", "websocket-client", "pyyaml"} <= set(used)
    missing = {dist: sorted(files) for dist, files in used.items() if dist not in RUNTIME}
    assert not missing, f"imported by runtime code, not in requirements.txt: {missing}"


def test_every_runtime_requirement_is_used() -> None:
    """Each distribution in requirements.txt is imported by runtime code or runs without an
    import (RUN_NOT_IMPORTED says how): the image carries nothing that never runs."""
    imported = set(distributions(third_party_imports(RUNTIME_CODE)))
    unused = set(RUNTIME) - imported - set(RUN_NOT_IMPORTED)
    assert not unused, f"in requirements.txt but used by nothing that runs: {sorted(unused)}"
    assert set(RUN_NOT_IMPORTED) <= set(RUNTIME), "the table names a package that is gone"


def test_dev_requirements_add_tests_and_tooling() -> None:
    """requirements-dev.txt includes requirements.txt, repeats none of it, holds the tools, and
    covers everything tests/ and bench/ import."""
    assert DEV_INCLUDES == ["requirements.txt"]
    assert not set(DEV) & set(RUNTIME), sorted(set(DEV) & set(RUNTIME))
    assert DEV_ONLY <= set(DEV), sorted(DEV_ONLY - set(DEV))
    modules = {m: f for m, f in third_party_imports(DEV_CODE).items() if m not in OWN_VENV}
    missing = {dist: sorted(files)[:3] for dist, files in distributions(modules).items()
               if dist not in RUNTIME and dist not in DEV}
    assert not missing, f"imported by tests or benchmarks, in neither file: {missing}"


def test_the_image_installs_runtime_and_the_venv_installs_dev() -> None:
    """Dockerfile: requirements.txt only. Makefile: the venv from requirements-dev.txt, rebuilt
    when either file changes."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"^RUN pip install .*-r (\S+)", dockerfile, re.MULTILINE)
    assert installs == ["requirements.txt"]
    assert "requirements-dev" not in re.sub(r"#.*", "", dockerfile)
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^\$\(BIN\)/activate:(.*)\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule, "no $(BIN)/activate rule"
    assert set(rule.group(1).split()) == {"requirements.txt", "requirements-dev.txt"}
    assert re.findall(r"pip install .*-r (\S+)", rule.group(2)) == ["requirements-dev.txt"]
