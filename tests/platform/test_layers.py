"""The floors of app/ (docs/architecture.md) hold: every import of every module points down or sideways.

The test reads the source with `ast` (nothing is imported or run) and fails with the offending
imports listed. A new package must be given a floor here before it can land.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from app.settings import ROOT

APP = ROOT / "app"

# Lowest first. A module may import from its own floor and the floors below it, never above.
# The longest matching prefix decides a module's floor.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("app.settings", "app.db", "app.logs")),
    ("reference", ("app.reference",)),
    ("identity", ("app.accounts.models", "app.principal")),
    ("policy and live channels", ("app.audit", "app.access", "app.realtime", "app.collab")),
    (
        "requests and rendering",
        (
            "app.accounts",
            "app.auth",
            "app.deps",
            "app.web",
            "app.mail",
            "app.errors",
            "app.middleware",
        ),
    ),
    ("cases", ("app.cases",)),
    ("meetings", ("app.meetings",)),
    ("coordination", ("app.coordination",)),
    ("above the domains", ("app.admin", "app.privacy", "app.trajectory", "app.reports")),
    (
        "composition",
        (
            "app",
            "app.__main__",
            "app.main",
            "app.cli",
            "app.worker",
            "app.jobs",
            "app.health",
            "app.pages",
            "app.demo",
            "app.models",
        ),
    ),
]
DOMAINS = ("app.cases", "app.meetings", "app.coordination")
# Below the domains, only these may read a domain's tables (never its services or routes): the
# access policy decides over cases and meetings, and building the caller needs their memberships.
MODEL_READERS = {"app.access", "app.accounts.principals"}
# Inside a domain, who may talk to the live channels: routes and jobs, after their commit.
PUBLISHERS = ("routes", "jobs", "live")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as a module of app/."""

    importer: str
    target: str
    names: tuple[str, ...]
    line: int
    top_level: bool

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "app":
                    found.append(Import(name, alias.name, (), node.lineno, id(node) in top_level))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "app":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                target = candidate if candidate in modules else node.module
                names = () if target == candidate else (alias.name,)
                found.append(Import(name, target, names, node.lineno, id(node) in top_level))
    return found


def floor_of(module: str) -> int:
    best, floor = -1, -1
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix != "app"  # the root package alone
            if (module == prefix or below) and len(prefix) > best:
                best, floor = len(prefix), index
    return floor


def domain_of(module: str) -> str | None:
    return next((d for d in DOMAINS if module == d or module.startswith(d + ".")), None)


def package_of(module: str) -> str:
    return module.rsplit(".", 1)[0]


def is_models(module: str) -> bool:
    return module.endswith(".models") or ".models." in module


def routes_package(module: str) -> str | None:
    """`app.cases.routes` for `app.cases.routes.lists`; None outside a routes package."""
    parts = module.split(".")
    return ".".join(parts[: parts.index("routes") + 1]) if "routes" in parts else None


def graph() -> list[Import]:
    """Every import of app/, one per (module, target, line)."""
    modules = all_modules()
    found: dict[tuple[str, str, int], Import] = {}
    for name, path in modules.items():
        for i in imports_of(name, path, modules):
            key = (i.importer, i.target, i.line)
            if key in found:
                i = Import(i.importer, i.target, found[key].names + i.names, i.line, i.top_level)
            found[key] = i
    return list(found.values())


def unplaced(modules: list[str]) -> list[str]:
    return [m for m in modules if floor_of(m) < 0]


def upward(imports: list[Import]) -> list[str]:
    """Imports of a higher floor: cases of meetings or coordination, meetings of coordination,
    anything below the domains of a domain (the model readers of their tables only)."""
    wrong = []
    for i in imports:
        if floor_of(i.target) <= floor_of(i.importer):
            continue
        if i.importer in MODEL_READERS and domain_of(i.target) and is_models(i.target):
            continue
        wrong.append(f"{i} ({FLOORS[floor_of(i.importer)][0]} -> {FLOORS[floor_of(i.target)][0]})")
    return wrong


def domain_services_from_below(imports: list[Import]) -> list[str]:
    first_domain = floor_of("app.cases")
    return [
        str(i)
        for i in imports
        if floor_of(i.importer) < first_domain and domain_of(i.target) and not is_models(i.target)
    ]


def foreign_routes(imports: list[Import]) -> list[str]:
    """Route modules are imported by their own package and by the composition floor only."""
    composition = len(FLOORS) - 1
    return [
        str(i)
        for i in imports
        if (target := routes_package(i.target)) is not None
        and floor_of(i.importer) != composition
        and routes_package(i.importer) != target
    ]


def private_names(imports: list[Import]) -> list[str]:
    """`_name`s stay in their module, `_module`s in their package."""
    wrong = [f"{i} name {n}" for i in imports for n in i.names if n.startswith("_")]
    wrong += [
        str(i)
        for i in imports
        if any(part.startswith("_") and part != "__main__" for part in i.target.split("."))
        and package_of(i.target) != package_of(i.importer)
    ]
    return wrong


def publishing_services(imports: list[Import]) -> list[str]:
    """Domain rules never talk to the live channels; routes and jobs publish after their commit."""
    wrong = []
    for i in imports:
        domain = domain_of(i.importer)
        if domain is None or i.target.split(".")[:2] not in (
            ["app", "realtime"],
            ["app", "collab"],
        ):
            continue
        if i.importer.removeprefix(domain + ".").split(".")[0] not in PUBLISHERS:
            wrong.append(str(i))
    return wrong


def cycles(imports: list[Import]) -> list[str]:
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for i in imports:
        if i.top_level and i.target != i.importer:
            sorter.add(i.importer, i.target)
    try:
        sorter.prepare()
    except CycleError as exc:
        return [" -> ".join(exc.args[1])]
    return []


RULES = [
    upward,
    domain_services_from_below,
    foreign_routes,
    private_names,
    publishing_services,
    cycles,
]


def test_every_module_has_a_floor() -> None:
    missing = unplaced(list(all_modules()))
    assert not missing, f"give these modules a floor in tests/platform/test_layers.py: {missing}"


def test_imports_keep_the_floors() -> None:
    imports = graph()
    wrong = {rule.__name__: rule(imports) for rule in RULES}
    wrong = {name: found for name, found in wrong.items() if found}
    assert not wrong, "\n".join(
        f"{name}:\n  " + "\n  ".join(found) for name, found in wrong.items()
    )


def planted(importer: str, target: str, *names: str, top_level: bool = True) -> Import:
    return Import(importer, target, names, 1, top_level)


def test_each_rule_catches_what_it_is_for() -> None:
    """A planted import of each kind is reported by its rule, and a harmless one by none."""
    assert upward([planted("app.cases.services", "app.coordination.models")])
    assert upward([planted("app.cases.services", "app.meetings.models")])
    assert upward([planted("app.meetings.agenda", "app.coordination.actions")])
    assert upward([planted("app.web", "app.cases.models")])
    assert not upward([planted("app.access", "app.cases.models")])
    assert upward([planted("app.access", "app.cases.services")])
    assert upward([planted("app.coordination.routes.room", "app.admin.services")])
    assert not upward([planted("app.privacy.services", "app.coordination.models")])
    assert domain_services_from_below([planted("app.access", "app.meetings.services")])
    assert foreign_routes([planted("app.coordination.routes.room", "app.meetings.routes.agenda")])
    assert foreign_routes([planted("app.meetings.services", "app.meetings.routes")])
    assert not foreign_routes([planted("app.main", "app.meetings.routes")])
    assert not foreign_routes(
        [planted("app.meetings.routes.planning", "app.meetings.routes.agenda")]
    )
    assert private_names([planted("app.coordination.room", "app.meetings.routes", "_visible")])
    assert private_names([planted("app.cases.routes", "app.collab._store")])
    assert publishing_services([planted("app.coordination.plans", "app.collab")])
    assert not publishing_services([planted("app.coordination.routes.room", "app.realtime")])
    assert cycles([planted("app.a", "app.b"), planted("app.b", "app.a")])
    assert not cycles([planted("app.a", "app.b"), planted("app.b", "app.a", top_level=False)])
    assert unplaced(["app.newthing", "app.cases.newthing"]) == ["app.newthing"]
    harmless = [planted("app.coordination.routes.room", "app.meetings.services")]
    assert not any(rule(harmless) for rule in RULES)


# Each request dependency is injected by its parameter's name, so the name must match the type.
DEPENDENCY_NAMES = {
    "DB": "db",
    "CurrentUser": "principal",
    "MaybeUser": "maybe_principal",
    "Audit": "audit",
    "VisibleCase": "case",
    "VisibleMeeting": "meeting",
    "ChairedMeeting": "chaired_meeting",
    "CaseMeeting": "case_meeting",
    "VisibleAction": "case_action",
    "CaseAppointment": "appointment",
}


def misnamed_dependencies(sources: dict[str, str]) -> list[str]:
    wrong = []
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                alias = arg.annotation.id if isinstance(arg.annotation, ast.Name) else None
                if alias in DEPENDENCY_NAMES and arg.arg != DEPENDENCY_NAMES[alias]:
                    wrong.append(
                        f"{name}:{node.lineno} {node.name}({arg.arg}: {alias}) must be named "
                        f"{DEPENDENCY_NAMES[alias]}"
                    )
    return wrong


def test_request_dependencies_are_named_by_their_key() -> None:
    """`chaired_meeting: ChairedMeeting`, never `meeting: ChairedMeeting` (which would hand the
    handler a meeting the caller may see but not lead)."""
    from app.cases.deps import DEPENDENCIES as CASES
    from app.coordination.deps import DEPENDENCIES as COORDINATION
    from app.meetings.deps import DEPENDENCIES as MEETINGS

    provided = {"db", "principal", "maybe_principal", "audit", *CASES, *MEETINGS, *COORDINATION}
    assert set(DEPENDENCY_NAMES.values()) <= provided
    sources = {name: path.read_text() for name, path in all_modules().items()}
    assert not misnamed_dependencies(sources), "\n".join(misnamed_dependencies(sources))
    planted = "async def h(meeting: ChairedMeeting, case: VisibleCase) -> None: ..."
    assert misnamed_dependencies({"planted": planted}) == [
        "planted:1 h(meeting: ChairedMeeting) must be named chaired_meeting"
    ]
