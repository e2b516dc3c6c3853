"""An operator issues a listed batch from a CSV file with ``skillpay vouchers issue-batch``.

The whole stack runs as processes. The file has a header, a bad resident ID, a row without a
name, a person listed twice and a blank line; the command streams it in small chunks, reports
each rejected line by its number and field (never the ID), and running it again issues nothing
twice. ``create-batch`` makes a quota batch.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid

import pytest

from skillpay.cli import sample_data
from skillpay.ledger.v1 import ledger_pb2
from skillpay.voucher.v1 import voucher_pb2 as pb
from tests.e2e.conftest import connect
from tests.e2e.test_cli import REPO_ROOT

pytestmark = pytest.mark.e2e


def _cli(stack, *args) -> subprocess.CompletedProcess:
    """The command as an operator runs it, with the stack's addresses and data directory."""
    env = dict(os.environ, SKILLPAY_DATA_DIR=str(stack.data_dir), COLUMNS="200",
               PYTHONPATH=os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))),
               **{f"{name.upper()}_GRPC_LISTEN": stack.addr(name) for name in ("voucher", "claim", "ledger")})
    env.pop("SKILLPAY_AUTH_PRIVATE_KEY", None)
    return subprocess.run([sys.executable, "-m", "skillpay.cli", *args], env=env, capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.mark.policy("V1", "V4", "V5")
async def test_issue_batch_streams_a_csv_file_and_reports_rejected_lines(stack_factory, tmp_path):
    stack = stack_factory()
    clients = connect(stack)
    try:
        await clients.ledger.OpenFund(ledger_pb2.OpenFundRequest(
            request_id=uuid.uuid4().hex, fund_code="ESF-CLI", name="就业补助资金",
            fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY))
        rng = random.Random(41)
        ids = list(dict.fromkeys(sample_data.resident_id(rng) for _ in range(40)))[:30]
        bad = ids[3][:-1] + ("1" if ids[3][-1] != "1" else "2")
        lines = ["resident_id,name"] + [f"{r},{sample_data.person_name(rng)}" for r in ids]
        lines[4] = f"{bad},李四"  # line 5: the check digit is wrong
        lines[10] = f"{ids[9]}"  # line 11: no name
        lines.append(f"{ids[0]},张三")  # line 32: listed twice
        lines.insert(20, "")  # a blank line: the lines after it keep their numbers
        persons = tmp_path / "persons.csv"
        persons.write_text("\n".join(lines) + "\n", encoding="utf-8")

        args = ("issue-batch", str(persons), "--batch-id", "cli-2026", "--fund", "ESF-CLI",
                "--valid-until", "2030-12-31", "--kind", "general", "--chunk-size", "7",
                "--rejections", str(tmp_path / "rejected.csv"))
        done = _cli(stack, "vouchers", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "28 vouchers issued, 3 rows rejected" in done.stdout, done.stdout
        assert "line 5: resident_id" in done.stdout and "line 11: name" in done.stdout
        assert "line 33: resident_id" in done.stdout  # the repeat, after the blank line 21
        assert not any(r in done.stdout + done.stderr for r in (*ids, bad))
        rejected = (tmp_path / "rejected.csv").read_text().splitlines()
        assert rejected[0] == "line,field,reason" and [r.split(",")[0] for r in rejected[1:]] == ["5", "11", "33"]

        batch = await clients.voucher.GetBatch(pb.GetBatchRequest(batch_id="cli-2026"))
        assert (batch.issued_count, batch.rejected_count, batch.kind) == (28, 3, pb.VOUCHER_KIND_GENERAL)

        again = _cli(stack, "vouchers", *args)  # after an interruption, say: nothing is issued twice
        assert again.returncode == 0, again.stdout + again.stderr
        assert "continuing it" in again.stdout and "28 vouchers issued, 3 rows rejected" in again.stdout
        assert (await clients.voucher.GetBatch(pb.GetBatchRequest(batch_id="cli-2026"))).issued_count == 28

        quota = _cli(stack, "vouchers", "create-batch", "--batch-id", "cli-quota", "--fund", "ESF-CLI",
                     "--valid-until", "2030-12-31", "--mode", "quota", "--quota", "100")
        assert quota.returncode == 0 and "quota 100" in quota.stdout, quota.stdout + quota.stderr
        unknown_fund = _cli(stack, "vouchers", "create-batch", "--batch-id", "x", "--fund", "NOPE",
                            "--valid-until", "2030-12-31")
        assert unknown_fund.returncode == 1 and "fund_source" in unknown_fund.stdout, unknown_fund.stdout
    finally:
        await clients.close()
