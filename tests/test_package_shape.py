"""The shape of the package: acyclic imports, doctests collected, lint clean.

Issue 16. The import graph is read from the source with `ast` (imports
inside functions included, relative imports resolved; importing a package
is an edge to its ``__init__`` module), so a function-local import that
dodges a cycle still counts as one.
"""

import ast
import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "probconv"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is a module of ours."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return None


def import_graph() -> dict[str, set[str]]:
    """Edges ``importer -> imported`` between the modules under probconv/."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = mod if _is_package(mod, modules) else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from pkg import name`: `name` is a submodule or an attribute
                # of `pkg` (then the longest prefix that is a module counts).
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for t in targets:
                hit = _resolve(t, modules)
                if hit is not None and hit != mod:
                    graph[mod].add(hit)
    return graph


def find_cycle(graph: dict[str, set[str]], within: str = "") -> list[str] | None:
    """A cycle among the modules whose names start with `within`, or None."""
    nodes = {n for n in graph if n.startswith(within)}
    color = dict.fromkeys(nodes, 0)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(n):
        color[n] = 1
        stack.append(n)
        for m in sorted(graph[n] & nodes):
            if color[m] == 1:
                return stack[stack.index(m) :] + [m]
            if color[m] == 0:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        color[n] = 2
        return None

    for n in sorted(nodes):
        if color[n] == 0:
            found = visit(n)
            if found:
                return found
    return None


def test_import_graph_sees_relative_and_local_imports():
    graph = import_graph()
    # Top-level relative import of a sibling, and a package's __init__.
    assert "probconv.distributions._base" in graph["probconv.distributions._grid"]
    assert "probconv.conv" in graph["probconv.distributions._lattice_ops"]
    assert "probconv.distributions" in graph["probconv"]
    # A toy cycle through a function-local import is found.
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    cyc = find_cycle(toy)
    assert cyc is not None and cyc[0] == cyc[-1] and set(cyc) == {"a", "b", "c"}


def test_distributions_imports_are_acyclic():
    cycle = find_cycle(import_graph(), "probconv.distributions")
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_package_imports_are_acyclic():
    cycle = find_cycle(import_graph(), "probconv")
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_layer_imports_a_private_module_of_another_package():
    """Across packages only public names, `conv.internal` and the root's leaves.

    The root package's private modules (``probconv._checks`` and the like)
    are leaves shared by every layer; a subpackage's private modules belong
    to it alone.
    """
    bad = []
    for a, targets in import_graph().items():
        for b in targets:
            inner = b.split(".")[2:]
            if _package(a) != _package(b) and any(p.startswith("_") for p in inner):
                bad.append(f"{a} -> {b}")
    assert bad == []


def test_examples_import_only_public_names():
    bad = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "probconv" and any(p.startswith("_") for p in parts):
                    bad.append(f"{path.name}: {name}")
    assert bad == []


def _norecursedirs() -> list[str]:
    """pytest's `norecursedirs` here (its defaults unless the config sets it)."""
    config = pytest.Config.fromdictargs({}, [str(ROOT)])
    return list(config.getini("norecursedirs"))


def _collected_doctest_files(session) -> set[str]:
    """The files of `probconv` whose doctests pytest collects by default.

    The running session's own collection when it was asked for the whole
    package and nothing narrowed it (a default run of the suite, in each
    xdist worker too), else a collection of the package in a subprocess (a
    run of this module alone, or with ``-k``).
    """
    package = ROOT / "probconv"
    asked = [
        Path(session.config.invocation_params.dir, a.split("::")[0]).resolve()
        for a in session.config.args
    ]
    option = session.config.option
    narrowed = (
        option.keyword
        or getattr(option, "deselect", None)
        or getattr(option, "lf", False)
    )
    if not narrowed and any(package.is_relative_to(a) for a in asked):
        return {
            Path(item.path).resolve().relative_to(ROOT).as_posix()
            for item in session.items
            if Path(item.path).resolve().is_relative_to(package)
        }
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "probconv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line.split("::")[0] for line in out.stdout.splitlines()}


def test_doctest_modules_are_collected(request):
    modules = _modules()
    with_examples = sorted(
        path.relative_to(ROOT).as_posix()
        for path in modules.values()
        if ">>>" in path.read_text()
    )
    assert with_examples  # the package has doctests
    # No package folder is one that pytest skips (`dist`, `build`, ...).
    skipped = _norecursedirs()
    for rel in with_examples:
        for part in Path(rel).parts[:-1]:
            assert not any(fnmatch.fnmatch(part, pat) for pat in skipped), (
                f"{rel}: pytest does not recurse into {part!r} by default"
            )
    collected = _collected_doctest_files(request.session)
    missing = [rel for rel in with_examples if rel not in collected]
    assert not missing, f"doctests not collected: {missing}"


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    out = subprocess.run(
        [ruff, "check", "--no-cache", "probconv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_laws_are_final_classes_of_one_abstract_base():
    import jax

    from probconv import distributions as dist
    from probconv.distributions._base import Distribution

    laws = [
        dist.from_masses([0.5, 0.5]),
        dist.from_masses([0.5, 0.5], kind="density"),
        dist.normal(step=0.5),
        dist.poisson(1.0),
        dist.iid_sum(dist.die(2), 2, accuracy="relative"),
    ]
    assert Distribution is dist.Distribution
    with pytest.raises(TypeError):
        Distribution(laws[0].masses, laws[0].origin, laws[0].truncated)
    kinds = {}
    for d in laws:
        cls = type(d)
        assert isinstance(d, Distribution) and cls is not Distribution
        kinds[cls.__name__] = d.kind
        with pytest.raises(AttributeError):
            d.kind = "density"
        with pytest.raises(TypeError, match="final"):
            type("Sub", (cls,), {})
        leaves, tree = jax.tree_util.tree_flatten(d)
        again = jax.tree_util.tree_unflatten(tree, leaves)
        assert type(again) is cls and again.step == d.step and again.kind == d.kind
    assert kinds == {
        "Lattice": "lattice",
        "Density": "density",
        "Continuous": "density",
        "Parametric": "lattice",
        "RelativeDistribution": "lattice",
    }


# The generic argument checks are defined once, in the leaf `probconv._checks`;
# every package reads them from there.
# Names the leaf owns: a second definition under another module is a copy.
LEAF_CHECKS = (
    "concrete",
    "check_int",
    "check_choice",
    "check_number",
    "check_range",
    "check_positive",
    "check_positive_float",
    "check_param",
    "check_finite",
    "check_real",
    "is_real_dtype",
    "compute_dtype",
    "result_dtype",
    "normalize_axes",
    "check_axis",
    "per_axis",
    "check_nan_policy",
    "raise_on_nan",
)


def _defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_generic_checks_are_defined_once_in_the_leaf():
    leaf = PACKAGE / "_checks.py"
    assert set(LEAF_CHECKS) - {"check_positive", "check_positive_float"} <= (
        _defined_functions(leaf)
    )
    copies = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path == leaf:
            continue
        found = _defined_functions(path) & set(LEAF_CHECKS)
        if found:
            copies[rel] = sorted(found)
    assert copies == {}, copies
    # No package has a `_checks` module of its own.
    checks_modules = {
        p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("_checks.py")
    }
    assert checks_modules == {"probconv/_checks.py"}


def test_checks_leaf_imports_nothing_from_probconv():
    graph = import_graph()
    assert graph["probconv._checks"] == set()
    tree = ast.parse((PACKAGE / "_checks.py").read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import in the leaf"
            roots.add((node.module or "").split(".")[0])
    assert roots <= {"__future__", "functools", "math", "numbers", "jax", "numpy"}
