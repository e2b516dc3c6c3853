"""A redemption rolled back before payment, across the real stack (separate processes, Kafka,
the bank simulator), on SQLite and PostgreSQL.

The voucher is redeemed while the bank rejects every payment (so it is not paid), the bureau
rolls the redemption back (its claim line is withdrawn; the certificate is free again), the
institution redeems it again with the same certificate, the bank pays: exactly one payment
settles for the voucher, through the second redemption's claim line. A rollback after payment
is refused naming X2; the bureau can still revoke the paid voucher, which then shows the paid
value as due for recovery.
"""

from __future__ import annotations

import random
import uuid

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2

from skillpay.claim.v1 import claim_pb2
from skillpay.cli.demo import STANDARD_FEN, prepare, redeem_one
from skillpay.ledger.v1 import ledger_pb2
from skillpay.voucher.v1 import voucher_pb2
from tests.e2e.conftest import assert_ledger_verified, bank_statement, connect
from tests.e2e.test_failed_payouts import claim_of, eventually, voucher
from tests.integration.test_voucher_grpc import details

pytestmark = pytest.mark.e2e


def _faults(stack, **faults) -> None:
    httpx.post(f"{stack.bank_url}/v1/_faults", json=faults, timeout=10).raise_for_status()


@pytest.mark.policy("X2", "V3", "V4")
async def test_X2_rollback_before_payment_then_redemption_again_pays_once_and_rollback_after_payment_is_refused(
        stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-DEMO", STANDARD_FEN * 4)
        _faults(stack, close_accounts=True)
        voucher_id = await redeem_one(clients, institution, "ESF-DEMO", random.Random(21))
        v = await eventually(lambda: voucher(clients, voucher_id),
                             lambda v: v.payout_status == voucher_pb2.PAYOUT_STATUS_FAILED)
        assert v.state == voucher_pb2.VOUCHER_STATE_REDEEMED and v.redemption_id == voucher_id
        certificate_id = v.certificate_id
        _faults(stack, close_accounts=False)

        rolled_back = await clients.voucher.RollBackRedemption(voucher_pb2.RollBackRedemptionRequest(
            request_id=uuid.uuid4().hex, voucher_id=voucher_id, reason="assessment annulled"))
        assert (rolled_back.state, rolled_back.value_fen, rolled_back.certificate_id) == (
            voucher_pb2.VOUCHER_STATE_ENROLLED, 0, "")
        cert = await clients.voucher.GetCertificate(voucher_pb2.GetCertificateRequest(certificate_id=certificate_id))
        assert cert.redeemed_voucher_id == ""
        claim = await eventually(lambda: claim_of(clients, voucher_id),
                                 lambda c: c.state == claim_pb2.CLAIM_STATE_WITHDRAWN)
        assert claim.state == claim_pb2.CLAIM_STATE_WITHDRAWN, claim
        assert [line.state for line in claim.lines] == [claim_pb2.CLAIM_LINE_STATE_WITHDRAWN]

        again = await clients.voucher.RedeemVoucher(voucher_pb2.RedeemVoucherRequest(
            request_id=uuid.uuid4().hex, voucher_id=voucher_id, certificate_id=certificate_id),
            metadata=clients.as_institution(institution))
        assert (again.redemption_no, again.state) == (2, voucher_pb2.VOUCHER_STATE_REDEEMED)
        paid = await eventually(lambda: voucher(clients, voucher_id), lambda v: v.state == voucher_pb2.VOUCHER_STATE_PAID)
        assert paid.state == voucher_pb2.VOUCHER_STATE_PAID and paid.recovery_due_fen == 0

        claim = await eventually(lambda: claim_of(clients, voucher_id), lambda c: c.state == claim_pb2.CLAIM_STATE_PAID)
        assert [line.state for line in claim.lines] == [claim_pb2.CLAIM_LINE_STATE_WITHDRAWN,
                                                        claim_pb2.CLAIM_LINE_STATE_PAID]
        assert claim.lines[1].redemption_id == again.redemption_id != voucher_id
        assert paid.payment_id == claim.lines[1].payout_request_id

        # exactly one payment settled for the voucher: in the ledger and at the bank
        payments = (await clients.ledger.ListPayments(ledger_pb2.ListPaymentsRequest(
            reference_key="voucher_id", reference_value=voucher_id))).payments
        settled = [p for p in payments if p.state == ledger_pb2.PAYMENT_STATE_SETTLED]
        assert [p.payment_id for p in settled] == [paid.payment_id]
        assert {p.state for p in payments} == {ledger_pb2.PAYMENT_STATE_SETTLED, ledger_pb2.PAYMENT_STATE_FAILED}
        at_bank = [e for e in bank_statement(stack)
                   if e["status"] == "settled" and e["payment_id"] in {p.payment_id for p in payments}]
        assert [e["payment_id"] for e in at_bank] == [paid.payment_id]
        fund = await clients.ledger.GetFund(ledger_pb2.GetFundRequest(fund_code="ESF-DEMO"))
        assert (fund.disbursed_fen, fund.payable_fen) == (STANDARD_FEN, 0)
        await assert_ledger_verified(clients)  # VerifyLedger: every account is the sum of its transfers

        # after payment only a recovery is possible (X2)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await clients.voucher.RollBackRedemption(voucher_pb2.RollBackRedemptionRequest(
                request_id=uuid.uuid4().hex, voucher_id=voucher_id, reason="too late"))
        assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        failure = error_details_pb2.PreconditionFailure()
        [detail] = [d for d in details(err.value).details if d.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR)]
        detail.Unpack(failure)
        assert [x.type for x in failure.violations] == ["X2"]
        assert (await voucher(clients, voucher_id)).state == voucher_pb2.VOUCHER_STATE_PAID

        revoked = await clients.voucher.RevokeVoucher(voucher_pb2.RevokeVoucherRequest(
            request_id=uuid.uuid4().hex, voucher_id=voucher_id, reason="certificate bought"))
        assert (revoked.state, revoked.recovery_due_fen) == (voucher_pb2.VOUCHER_STATE_REVOKED, STANDARD_FEN)
    finally:
        await clients.close()
