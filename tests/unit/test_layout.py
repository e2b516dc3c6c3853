"""The layering rules of DESIGN.md, checked on the source: domain code imports neither SQLAlchemy nor protobuf."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("voucher_svc", "claim_svc", "ledger_svc")
FORBIDDEN = ("sqlalchemy", "google.protobuf", "grpc", "skillpay.voucher", "skillpay.claim", "skillpay.ledger",
             "skillpay.events", "aiokafka")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def forbidden_imports(path: Path) -> set[str]:
    return {m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_the_four_layers_and_migrations(service):
    for part in ("domain", "adapters", "service_layer", "entrypoints", "migrations/versions"):
        assert (ROOT / service / part).is_dir(), f"{service}/{part} is missing"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_imports_neither_sqlalchemy_nor_protobuf(service):
    files = list((ROOT / service / "domain").rglob("*.py"))
    assert files
    offenders = {str(f.relative_to(ROOT)): forbidden_imports(f) for f in files if forbidden_imports(f)}
    assert not offenders, offenders


def test_the_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "model.py"
    bad.write_text("from sqlalchemy import select\nimport google.protobuf.message\n")
    assert forbidden_imports(bad) == {"sqlalchemy", "google.protobuf.message"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_commands_handlers_permissions_and_one_wiring_place(service):
    for part in ("bootstrap.py", "service_layer/commands.py", "service_layer/handlers.py",
                 "service_layer/unit_of_work.py", "service_layer/permissions.py"):
        assert (ROOT / service / part).is_file(), f"{service}/{part} is missing"


# The service layer talks to ports (repository Protocols, the bank port), never to adapters.
SERVICE_LAYER_FORBIDDEN = ("sqlalchemy", "google.protobuf", "grpc", "aiokafka", "httpx", "skillpay.voucher",
                           "skillpay.claim", "skillpay.ledger", "skillpay.events")


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_layer_imports_no_adapter_and_no_wire_format(service):
    offenders = {}
    for f in (ROOT / service / "service_layer").rglob("*.py"):
        bad = {m for m in imported_modules(f)
               if any(m == x or m.startswith(x + ".") for x in SERVICE_LAYER_FORBIDDEN)
               or ".adapters" in m or ".entrypoints" in m}
        if bad:
            offenders[str(f.relative_to(ROOT))] = bad
    assert not offenders, offenders


@pytest.mark.parametrize("service", SERVICES)
def test_entrypoints_reach_handlers_only_through_the_bus(service):
    """Entrypoints reach handlers through the bus only: they never import handlers or repositories."""
    for f in (ROOT / service / "entrypoints").rglob("*.py"):
        imported = imported_modules(f)
        assert f"{service}.service_layer.handlers" not in imported, f
        assert not any(m.startswith(f"{service}.adapters") for m in imported), f


# The runtime every service process imports; the command line and its helpers live in skillpay/cli.
RUNTIME_MODULES = {"__init__", "actors", "aggregate", "audit_trail", "auth", "clock", "db", "errors", "fields", "grpc_server",
                   "ids", "kafka", "messagebus", "messaging", "metrics", "migration_env", "paging", "pii", "ready", "readiness",
                   "service_runtime", "settings", "uow", "outage", "dead_letters", "operations"}
GENERATED = {"audit", "claim", "events", "ledger", "voucher", "ops"}
RUNTIME_MODULES |= {"logs", "tracing"}  # JSON log lines; OpenTelemetry spans


def test_skillpay_holds_the_runtime_and_one_subpackage_for_the_command_line():
    top = ROOT / "skillpay"
    modules = {p.stem for p in top.glob("*.py")}
    packages = {p.name for p in top.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules == RUNTIME_MODULES, f"unexpected: {modules - RUNTIME_MODULES}, missing: {RUNTIME_MODULES - modules}"
    assert packages == GENERATED | {"cli"}
    for generated in GENERATED:  # only protoc's output (and package markers) there
        files = {p.name for p in (top / generated).rglob("*.py")}
        assert all(f == "__init__.py" or "_pb2" in f for f in files), files


def test_the_services_do_not_import_the_command_line_tools():
    for service in (*SERVICES, "gateway", "bank_sim"):
        for f in (ROOT / service).rglob("*.py"):
            assert not any(m.startswith("skillpay.cli") for m in imported_modules(f)), f
