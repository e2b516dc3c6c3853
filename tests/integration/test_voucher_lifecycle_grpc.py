"""The lifecycle RPCs through a real voucher_svc process on SQLite and PostgreSQL: the admin's
ExpireDueVouchers (V5) with request-id idempotency, and the client errors of CancelVoucher,
RevokeVoucher and RollBackRedemption (every bad field named, the state rule named, nothing changed)."""

# ruff: noqa: F811 - the fixtures imported from test_voucher_grpc are requested by name
from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from skillpay.actors import ActorKind
from skillpay.audit.v1 import audit_pb2
from skillpay.cli import sample_data
from skillpay.clock import utcnow
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    admin_channel,
    issuer,
    ledger_server,
    signing_key,
    stub,
    violations,
    voucher_server,
)

pytestmark = pytest.mark.integration


def rid() -> str:
    return uuid.uuid4().hex


async def _issue(stub, valid_until) -> pb.Voucher:
    await stub.RegisterOccupation(pb.RegisterOccupationRequest(request_id="occ", code="6-31-01-03", name="电工",
                                                               level=4, subsidy_standard_fen=150_000))
    ts = Timestamp()
    ts.FromDatetime(valid_until)
    return await stub.IssueVoucher(pb.IssueVoucherRequest(
        request_id=rid(), resident_id=sample_data.resident_id(random.Random(5)), name="张三",
        occupation_code="6-31-01-03", level=4, fund_source="ESF", batch_id="b1", valid_until=ts))


@pytest.mark.policy("V5")
async def test_V5_the_admin_expires_due_vouchers_now_and_a_retried_request_gets_the_same_answer(
        stub, voucher_server, issuer):
    voucher = await _issue(stub, utcnow() + timedelta(seconds=2))
    await asyncio.sleep(2.2)
    first = await stub.ExpireDueVouchers(pb.ExpireDueVouchersRequest(request_id="sweep-1", limit=10))
    assert first.expired_count == 1
    assert (await stub.ExpireDueVouchers(pb.ExpireDueVouchersRequest(request_id="sweep-1", limit=10))) == first
    assert (await stub.ExpireDueVouchers(pb.ExpireDueVouchersRequest(request_id="sweep-2"))).expired_count == 0
    v = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert v.state == pb.VOUCHER_STATE_EXPIRED and v.HasField("ended_at")
    records = (await stub.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(aggregate_id=voucher.voucher_id))).records
    assert [(r.command, r.state_before, r.state_after) for r in records][-1] == ("ExpireDueVouchers", "issued",
                                                                                 "expired")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ExpireDueVouchers(pb.ExpireDueVouchersRequest(request_id="sweep-3", limit=5000))
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT and set(violations(err.value)) == {"limit"}
    channel = admin_channel(voucher_server.addr, issuer, ActorKind.INSTITUTION, "ins_1")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await voucher_pb2_grpc.VoucherServiceStub(channel).ExpireDueVouchers(
                pb.ExpireDueVouchersRequest(request_id="sweep-4"))
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()


@pytest.mark.policy("V4", "X2")
async def test_lifecycle_rpcs_name_bad_fields_and_refused_states_and_change_nothing(stub, voucher_server):
    voucher = await _issue(stub, utcnow() + timedelta(days=30))
    for rpc, request in ((stub.CancelVoucher, pb.CancelVoucherRequest),
                         (stub.RevokeVoucher, pb.RevokeVoucherRequest),
                         (stub.RollBackRedemption, pb.RollBackRedemptionRequest)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await rpc(request(request_id=rid(), voucher_id="x" * 5000, reason="\u202e" + "y" * 300))
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(err.value)) == {"voucher_id", "reason"}
        assert "yyyy" not in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RollBackRedemption(pb.RollBackRedemptionRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                                   reason="nothing redeemed"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    cancelled = await stub.CancelVoucher(pb.CancelVoucherRequest(request_id="c-1", voucher_id=voucher.voucher_id,
                                                                 reason="issued twice"))
    assert (cancelled.state, cancelled.state_reason) == (pb.VOUCHER_STATE_CANCELLED, "issued twice")
    with pytest.raises(grpc.aio.AioRpcError) as err:  # terminal
        await stub.RevokeVoucher(pb.RevokeVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                         reason="fraud"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    again = await stub.CancelVoucher(pb.CancelVoucherRequest(request_id="c-1", voucher_id=voucher.voucher_id,
                                                             reason="issued twice"))
    assert again == cancelled  # the retried request: its first answer
