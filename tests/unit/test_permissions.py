"""The permission tables are complete: every command and every RPC of each service has one entry.

The bus refuses anything not listed, so a command or RPC missing here would be closed to all;
an entry naming nothing that exists is a typo hiding a real gap. Both fail this test.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from claim_svc.service_layer import commands as claim_commands
from claim_svc.service_layer.handlers import HANDLERS as CLAIM_HANDLERS
from claim_svc.service_layer.permissions import PERMISSIONS as CLAIM_PERMISSIONS
from ledger_svc.service_layer import commands as ledger_commands
from ledger_svc.service_layer.handlers import HANDLERS as LEDGER_HANDLERS
from ledger_svc.service_layer.permissions import PERMISSIONS as LEDGER_PERMISSIONS
from skillpay.actors import Actor, ActorKind
from skillpay.claim.v1 import claim_pb2
from skillpay.errors import PermissionDenied
from skillpay.ledger.v1 import ledger_pb2
from skillpay.messagebus import Command, authorize
from skillpay.ops.v1 import ops_pb2
from skillpay.voucher.v1 import voucher_pb2
from voucher_svc.service_layer import commands as voucher_commands
from voucher_svc.service_layer.handlers import HANDLERS as VOUCHER_HANDLERS
from voucher_svc.service_layer.permissions import PERMISSIONS as VOUCHER_PERMISSIONS

pytestmark = pytest.mark.unit

SERVICES = {
    "voucher": (voucher_commands, VOUCHER_HANDLERS, VOUCHER_PERMISSIONS,
                voucher_pb2.DESCRIPTOR.services_by_name["VoucherService"]),
    "claim": (claim_commands, CLAIM_HANDLERS, CLAIM_PERMISSIONS, claim_pb2.DESCRIPTOR.services_by_name["ClaimService"]),
    "ledger": (ledger_commands, LEDGER_HANDLERS, LEDGER_PERMISSIONS,
               ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]),
}


# Every service also serves the shared operations RPCs (skillpay.ops.v1.Operations).
OPERATIONS = ops_pb2.DESCRIPTOR.services_by_name["Operations"]


def _commands(module) -> set[type]:
    return {obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Command) and obj is not Command and obj.__module__ == module.__name__}


@pytest.mark.parametrize("service", SERVICES)
def test_every_command_has_a_handler_and_a_permission_entry(service):
    module, handlers, permissions, _ = SERVICES[service]
    declared = _commands(module)
    assert declared, "no commands found"
    assert declared == set(handlers), "a command without a handler, or a handler for an undeclared command"
    assert {c.__name__ for c in declared} <= set(permissions)
    for command in declared:
        assert dataclasses.is_dataclass(command) and command.__dataclass_params__.frozen


@pytest.mark.parametrize("service", SERVICES)
def test_every_rpc_and_nothing_else_is_in_the_table(service):
    module, _, permissions, descriptor = SERVICES[service]
    rpcs = {m.name for m in descriptor.methods} | {m.name for m in OPERATIONS.methods}
    names = rpcs | {c.__name__ for c in _commands(module)}
    assert set(permissions) == names, (f"missing: {sorted(names - set(permissions))}, "
                                       f"unknown: {sorted(set(permissions) - names)}")
    for what, kinds in permissions.items():
        assert kinds and all(isinstance(k, ActorKind) for k in kinds), what


@pytest.mark.parametrize("service", SERVICES)
def test_the_table_decides_every_actor_kind_for_every_entry(service):
    _, _, permissions, _ = SERVICES[service]
    for what, allowed in permissions.items():
        for kind in ActorKind:
            actor = Actor(kind, "someone")
            if kind in allowed:
                authorize(permissions, actor, what)
            else:
                with pytest.raises(PermissionDenied):
                    authorize(permissions, actor, what)
    with pytest.raises(PermissionDenied):
        authorize(permissions, Actor(ActorKind.ADMIN, "a"), "NotARealCommand")


@pytest.mark.parametrize("service", SERVICES)
def test_parked_events_are_for_admins_only(service):
    _, _, permissions, _ = SERVICES[service]
    for method in OPERATIONS.methods:
        assert permissions[method.name] == frozenset({ActorKind.ADMIN}), method.name


def test_commands_from_other_services_events_are_open_to_services_only():
    event_driven = {"MarkVoucherPaid": VOUCHER_PERMISSIONS, "CreateVoucherClaim": CLAIM_PERMISSIONS,
                    "RecordPayoutSettled": CLAIM_PERMISSIONS, "RecordPayoutFailed": CLAIM_PERMISSIONS,
                    "RequestPayout": LEDGER_PERMISSIONS}
    for name, table in event_driven.items():
        assert table[name] == frozenset({ActorKind.SERVICE}), name
