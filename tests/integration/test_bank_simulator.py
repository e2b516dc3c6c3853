"""The bank simulator as a real OS process, driven through the ledger's payment adapters."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from stdnum.cn import ric

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # until pytest's pythonpath is configured in pyproject
    sys.path.insert(0, str(REPO_ROOT))

from ledger_svc.adapters.payments import (  # noqa: E402
    BankTransferAdapter,
    BankUnavailable,
    PaymentAdapter,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentRejected,
    PaymentStatus,
    SscCardAdapter,
    build_payment_adapters,
)
from skillpay.ready import read_port  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTLE_DELAY_MS = 50


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _resident_id(seq: int) -> str:
    body = f"11010119900307{seq % 1000:03d}"
    number = body + ric.calc_check_digit(body + "0")
    assert ric.is_valid(number)
    return number


def _invalid_resident_id() -> str:
    valid = _resident_id(123)
    wrong_check = "0" if valid[-1] != "0" else "1"
    return valid[:-1] + wrong_check


class BankSimProcess:
    """``python -m bank_sim`` as a subprocess; its output goes to a log file."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.port = port or 0  # 0: any free port, learnt from the ready file
        self.ready_file = log_path.with_suffix(".addr")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            BANK_SIM_HOST="127.0.0.1",
            BANK_SIM_PORT=str(self.port),
            SKILLPAY_READY_FILE=str(self.ready_file),
            BANK_SIM_DATABASE_PATH=str(self.db_path),
            BANK_SIM_SETTLE_DELAY_MS=str(SETTLE_DELAY_MS),
            SKILLPAY_DATA_DIR=str(self.db_path.parent),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p),
        )
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bank_sim"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"bank_sim exited with {self.proc.returncode}:\n{self.log_text()}")
            self.port = self.port or read_port(self.ready_file) or 0
            if not self.port:
                time.sleep(0.05)
                continue
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).json() == {"status": "ok"}:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"bank_sim did not become healthy:\n{self.log_text()}")

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise


def _assert_graceful_exit(exit_code: int | None, sim: BankSimProcess) -> None:
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal,
    # so the exit status is "terminated by SIGTERM" (or 0 on older versions).
    assert exit_code in (0, -signal.SIGTERM), sim.log_text()
    assert "bank simulator stopped" in sim.log_text()


@pytest.fixture
def start_bank_sim(tmp_path: Path) -> Iterator[object]:
    """Factory: start a simulator on a fresh (or given) database; all stopped at teardown."""
    started: list[BankSimProcess] = []

    def start(db_path: Path | None = None, port: int | None = None) -> BankSimProcess:
        n = len(started)
        sim = BankSimProcess(db_path or tmp_path / f"bank{n}.sqlite3", tmp_path / f"bank_sim{n}.log", port)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def bank_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BankSimProcess]:
    tmp = tmp_path_factory.mktemp("bank_sim")
    sim = BankSimProcess(tmp / "bank.sqlite3", tmp / "bank_sim.log")
    sim.start()
    yield sim
    _assert_graceful_exit(sim.stop(), sim)
    # C4: the simulator never logs a full resident ID number.
    assert _resident_id(1) not in sim.log_text()


@pytest_asyncio.fixture
async def adapters(bank_sim: BankSimProcess) -> dict[str, PaymentAdapter]:
    built = build_payment_adapters(bank_sim.url, timeout_s=2.0)
    yield built
    for adapter in built.values():
        await adapter.aclose()


def _ssc(amount_fen: int = 50_000, *, payee_name: str = "张三", id_seq: int = 1, **over: object) -> PaymentInstruction:
    fields: dict[str, object] = dict(
        payment_id=f"pay-{uuid.uuid4().hex[:16]}",
        channel="ssc_card",
        payee_id_number=_resident_id(id_seq),
        payee_name=payee_name,
        payee_account=None,
        amount_fen=amount_fen,
        fund_source="unemployment_insurance",
        memo="vocational training subsidy",
    )
    fields.update(over)
    return PaymentInstruction(**fields)  # type: ignore[arg-type]


def _transfer(amount_fen: int = 80_000, *, payee_name: str = "某职业培训学校", **over: object) -> PaymentInstruction:
    fields: dict[str, object] = dict(
        payment_id=f"pay-{uuid.uuid4().hex[:16]}",
        channel="bank_transfer",
        payee_id_number="91110101MA01ABCD2X",
        payee_name=payee_name,
        payee_account="6222020200112233445",
        amount_fen=amount_fen,
        fund_source="employment_subsidy",
        memo="training fee",
    )
    fields.update(over)
    return PaymentInstruction(**fields)  # type: ignore[arg-type]


async def _wait_final(adapter: PaymentAdapter, payment_id: str, timeout_s: float = 3.0) -> PaymentStatus:
    deadline = time.monotonic() + timeout_s
    while True:
        status = await adapter.query(payment_id)
        assert status is not None
        if status.state != "accepted" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(SETTLE_DELAY_MS / 1000)


def _day(status: PaymentStatus) -> date:
    assert status.settled_at is not None
    return status.settled_at.astimezone(SHANGHAI).date()


def _raw_statement(url: str, day: date) -> dict:
    response = httpx.get(f"{url}/v1/statements/{day.isoformat()}", timeout=2.0)
    assert response.status_code == 200
    return response.json()


@pytest.mark.policy("C7")
async def test_ssc_card_payment_is_accepted_then_settled(adapters: dict[str, PaymentAdapter]) -> None:
    ssc = adapters["ssc_card"]
    assert isinstance(ssc, SscCardAdapter)
    instr = _ssc(50_000)

    submitted = await ssc.submit(instr)
    assert submitted.payment_id == instr.payment_id
    assert submitted.state == "accepted"
    assert submitted.bank_ref
    assert submitted.settled_at is None and submitted.failure_reason is None

    await asyncio.sleep(SETTLE_DELAY_MS / 1000 * 2)
    settled = await ssc.query(instr.payment_id)
    assert settled is not None
    assert settled.state == "settled"
    assert settled.bank_ref == submitted.bank_ref
    assert settled.failure_reason is None
    assert settled.settled_at is not None and settled.settled_at.utcoffset() is not None


async def test_resubmitting_same_instruction_returns_same_record_and_pays_once(
    bank_sim: BankSimProcess, adapters: dict[str, PaymentAdapter]
) -> None:
    ssc = adapters["ssc_card"]
    instr = _ssc(12_300)
    first = await ssc.submit(instr)
    again = await ssc.submit(instr)
    assert again.payment_id == first.payment_id
    assert again.bank_ref == first.bank_ref

    settled = await _wait_final(ssc, instr.payment_id)
    assert settled.state == "settled"
    replay_after_settle = await ssc.submit(instr)
    assert replay_after_settle.bank_ref == first.bank_ref
    assert replay_after_settle.state == "settled"

    lines = [line for line in await ssc.statement(_day(settled)) if line.payment_id == instr.payment_id]
    assert len(lines) == 1
    assert lines[0].amount_fen == 12_300 and lines[0].bank_ref == first.bank_ref
    raw = _raw_statement(bank_sim.url, _day(settled))
    assert [e["payment_id"] for e in raw["entries"]].count(instr.payment_id) == 1


async def test_same_payment_id_with_different_amount_is_rejected_and_changes_nothing(
    adapters: dict[str, PaymentAdapter],
) -> None:
    ssc = adapters["ssc_card"]
    instr = _ssc(10_000)
    original = await ssc.submit(instr)
    tampered = _ssc(10_001, payment_id=instr.payment_id)

    with pytest.raises(PaymentRejected) as excinfo:
        await ssc.submit(tampered)
    assert excinfo.value.reason == "payment_id_conflict"
    assert excinfo.value.status_code == 409
    assert excinfo.value.payment_id == instr.payment_id

    settled = await _wait_final(ssc, instr.payment_id)
    assert settled.bank_ref == original.bank_ref and settled.state == "settled"
    lines = [line for line in await ssc.statement(_day(settled)) if line.payment_id == instr.payment_id]
    assert [line.amount_fen for line in lines] == [10_000]


async def test_invalid_request_is_rejected_with_violations_and_nothing_stored(
    adapters: dict[str, PaymentAdapter],
) -> None:
    ssc = adapters["ssc_card"]
    bad_id = _invalid_resident_id()
    instr = _ssc(payee_id_number=bad_id)

    with pytest.raises(PaymentRejected) as excinfo:
        await ssc.submit(instr)
    assert excinfo.value.reason == "invalid_request"
    assert excinfo.value.status_code == 422
    assert [v.field for v in excinfo.value.violations] == ["payee_id_number"]
    assert bad_id not in str(excinfo.value) and bad_id not in repr(instr)
    assert await ssc.query(instr.payment_id) is None

    transfer = adapters["bank_transfer"]
    no_account = _transfer(payee_account=None)
    with pytest.raises(PaymentRejected) as excinfo:
        await transfer.submit(no_account)
    assert [v.field for v in excinfo.value.violations] == ["payee_account"]
    assert await transfer.query(no_account.payment_id) is None


async def test_payee_named_fail_ends_failed_with_reason(bank_sim: BankSimProcess, adapters: dict[str, PaymentAdapter]) -> None:
    transfer = adapters["bank_transfer"]
    instr = _transfer(7_700, payee_name="FAIL Closed Account Ltd")
    submitted = await transfer.submit(instr)
    assert submitted.state == "accepted" and submitted.failure_reason is None

    final = await _wait_final(transfer, instr.payment_id)
    assert final.state == "failed"
    assert final.failure_reason == "account_closed"
    assert final.settled_at is not None

    lines = [line for line in await transfer.statement(_day(final)) if line.payment_id == instr.payment_id]
    assert [(line.state, line.amount_fen) for line in lines] == [("failed", 7_700)]


async def test_closed_accounts_fault_fails_new_payments_until_cleared(
    bank_sim: BankSimProcess, adapters: dict[str, PaymentAdapter]
) -> None:
    transfer = adapters["bank_transfer"]
    async with httpx.AsyncClient(base_url=bank_sim.url, timeout=2.0) as control:
        try:
            response = await control.post("/v1/_faults", json={"close_accounts": True})
            assert response.json() == {"hold_responses_ms": 0, "close_accounts": True}
            closed = _transfer(1_100)
            await transfer.submit(closed)
            final = await _wait_final(transfer, closed.payment_id)
            assert (final.state, final.failure_reason) == ("failed", "account_closed")
            bad = await control.post("/v1/_faults", json={"close_accounts": "yes"})
            assert bad.status_code == 422 and [v["field"] for v in bad.json()["violations"]] == ["close_accounts"]
            assert (await control.post("/v1/_faults", json={})).status_code == 422
        finally:
            cleared = await control.post("/v1/_faults", json={"close_accounts": False})
            assert cleared.json()["close_accounts"] is False
    reopened = _transfer(1_200)
    await transfer.submit(reopened)
    assert (await _wait_final(transfer, reopened.payment_id)).state == "settled"


async def test_query_of_unknown_payment_returns_none(adapters: dict[str, PaymentAdapter]) -> None:
    for adapter in adapters.values():
        assert await adapter.query(f"never-submitted-{uuid.uuid4().hex}") is None


async def test_statement_lists_settled_payments_with_right_total(start_bank_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_bank_sim()  # fresh database: the statement holds exactly this test's payments
    async with SscCardAdapter(sim.url, 2.0) as ssc, BankTransferAdapter(sim.url, 2.0) as transfer:
        paid = [_ssc(11_111, id_seq=2), _ssc(22_222, id_seq=3)]
        transferred = _transfer(33_333)
        failed = _transfer(44_444, payee_name="FAIL Zhao")
        for instr in paid:
            await ssc.submit(instr)
        await transfer.submit(transferred)
        await transfer.submit(failed)
        finals = [await _wait_final(ssc, i.payment_id) for i in paid]
        finals.append(await _wait_final(transfer, transferred.payment_id))
        finals.append(await _wait_final(transfer, failed.payment_id))
        assert [f.state for f in finals] == ["settled", "settled", "settled", "failed"]
        days = {_day(f) for f in finals}
        if len(days) != 1:
            pytest.skip("payments straddled Asia/Shanghai midnight")
        (day,) = days

        ssc_lines = await ssc.statement(day)
        transfer_lines = await transfer.statement(day)
        assert {(line.payment_id, line.amount_fen, line.state) for line in ssc_lines} == {
            (paid[0].payment_id, 11_111, "settled"),
            (paid[1].payment_id, 22_222, "settled"),
        }
        assert {(line.payment_id, line.amount_fen, line.state) for line in transfer_lines} == {
            (transferred.payment_id, 33_333, "settled"),
            (failed.payment_id, 44_444, "failed"),
        }
        assert all(line.settled_at.utcoffset() is not None for line in ssc_lines + transfer_lines)

    raw = _raw_statement(sim.url, day)
    assert raw["date"] == day.isoformat()
    assert raw["count"] == 4 == len(raw["entries"])
    assert raw["total_fen"] == 11_111 + 22_222 + 33_333  # failed payments are not counted
    assert httpx.get(f"{sim.url}/v1/statements/2024-13-01", timeout=2.0).status_code == 422


async def test_restart_keeps_payments(start_bank_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db_path = tmp_path / "persistent.sqlite3"
    sim = start_bank_sim(db_path)
    instr = _ssc(66_600, id_seq=4)
    async with SscCardAdapter(sim.url, 2.0) as ssc:
        before = await ssc.submit(instr)

    # SIGTERM right away, while the payment is still "accepted".
    _assert_graceful_exit(await asyncio.to_thread(sim.stop), sim)
    assert "listening on" in sim.log_text()
    assert instr.payee_id_number not in sim.log_text()

    restarted = start_bank_sim(db_path)
    async with SscCardAdapter(restarted.url, 2.0) as ssc:
        after = await _wait_final(ssc, instr.payment_id)
        assert after.bank_ref == before.bank_ref
        assert after.state == "settled"
        replay = await ssc.submit(instr)  # idempotency survives the restart
        assert replay.bank_ref == before.bank_ref
        lines = await ssc.statement(_day(after))
        assert [line.payment_id for line in lines] == [instr.payment_id]


async def test_response_lost_is_in_doubt_and_bank_took_payment_once(
    bank_sim: BankSimProcess, adapters: dict[str, PaymentAdapter]
) -> None:
    instr = _ssc(99_900, id_seq=5)
    control = httpx.AsyncClient(base_url=bank_sim.url, timeout=2.0)
    impatient = SscCardAdapter(bank_sim.url, timeout_s=0.3)
    try:
        response = await control.post("/v1/_faults", json={"hold_responses_ms": 1500})
        assert response.status_code == 200
        with pytest.raises(PaymentInDoubt) as excinfo:
            await impatient.submit(instr)
        assert excinfo.value.payment_id == instr.payment_id
        assert instr.payee_id_number not in str(excinfo.value)
    finally:
        await control.post("/v1/_faults", json={"hold_responses_ms": 0})
        await control.aclose()
        await impatient.aclose()

    ssc = adapters["ssc_card"]
    found = await ssc.query(instr.payment_id)
    assert found is not None, "the bank did take the payment"
    final = await _wait_final(ssc, instr.payment_id)
    assert final.state == "settled" and final.bank_ref == found.bank_ref
    # Resubmitting the identical instruction after the doubt pays nothing more.
    assert (await ssc.submit(instr)).bank_ref == found.bank_ref
    lines = [line for line in await ssc.statement(_day(final)) if line.payment_id == instr.payment_id]
    assert len(lines) == 1 and lines[0].amount_fen == 99_900


async def test_bank_not_running_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    adapters = build_payment_adapters(url, timeout_s=1.0)
    try:
        with pytest.raises(BankUnavailable):
            await adapters["ssc_card"].submit(_ssc())
        with pytest.raises(BankUnavailable):
            await adapters["bank_transfer"].submit(_transfer())
        with pytest.raises(BankUnavailable):
            await adapters["ssc_card"].query("anything")
    finally:
        for adapter in adapters.values():
            await adapter.aclose()


def _duplicates(url: str) -> dict:
    response = httpx.get(f"{url}/v1/duplicates", timeout=2.0)
    assert response.status_code == 200
    return response.json()


def _refusal_lines(sim: BankSimProcess, payment_id: str) -> list[str]:
    return [line for line in sim.log_text().splitlines()
            if "duplicate payment refused" in line and f"payment_id={payment_id} " in line]


async def test_refused_duplicates_are_recorded_logged_and_listed(start_bank_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_bank_sim()  # fresh database: the duplicates are exactly this test's
    assert _duplicates(sim.url) == {"duplicates": [], "total_replayed": 0, "total_conflicting": 0}
    replayed_twice, replayed_once, single = _ssc(10_000, id_seq=6), _ssc(20_000, id_seq=7), _ssc(30_000, id_seq=8)
    async with SscCardAdapter(sim.url, 2.0) as ssc:
        first = await ssc.submit(replayed_twice)
        await ssc.submit(replayed_once)
        await ssc.submit(single)
        assert (await ssc.submit(replayed_twice)).bank_ref == first.bank_ref
        with pytest.raises(PaymentRejected):
            await ssc.submit(_ssc(10_001, id_seq=6, payment_id=replayed_twice.payment_id))
        await ssc.submit(replayed_once)
        assert (await ssc.submit(replayed_twice)).bank_ref == first.bank_ref

    assert _duplicates(sim.url) == {
        "duplicates": [
            {"payment_id": replayed_twice.payment_id, "replayed": 2, "conflicting": 1},
            {"payment_id": replayed_once.payment_id, "replayed": 1, "conflicting": 0},
        ],
        "total_replayed": 3,
        "total_conflicting": 1,
    }
    # One log line per refused duplicate, naming the payment id; never the payee's ID number.
    assert len(_refusal_lines(sim, replayed_twice.payment_id)) == 3
    assert len(_refusal_lines(sim, replayed_once.payment_id)) == 1
    assert _refusal_lines(sim, single.payment_id) == []
    assert sum("outcome=conflict" in line for line in _refusal_lines(sim, replayed_twice.payment_id)) == 1
    for instr in (replayed_twice, replayed_once, single):
        assert instr.payee_id_number not in sim.log_text()
    # Recording a duplicate changes nothing about the payment itself: it is paid once.
    async with SscCardAdapter(sim.url, 2.0) as ssc:
        final = await _wait_final(ssc, replayed_twice.payment_id)
        lines = [line for line in await ssc.statement(_day(final)) if line.payment_id == replayed_twice.payment_id]
    assert [(line.amount_fen, line.bank_ref) for line in lines] == [(10_000, first.bank_ref)]


async def test_duplicates_survive_a_restart_and_older_database_files_keep_working(  # type: ignore[no-untyped-def]
    start_bank_sim, tmp_path: Path
) -> None:
    import sqlite3

    db_path = tmp_path / "older.sqlite3"
    sim = start_bank_sim(db_path)
    instr = _ssc(45_600, id_seq=9)
    async with SscCardAdapter(sim.url, 2.0) as ssc:
        before = await ssc.submit(instr)
    _assert_graceful_exit(await asyncio.to_thread(sim.stop), sim)

    # Make it a file from before duplicates were recorded (schema version 1, no table).
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE duplicate_submissions")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()

    restarted = start_bank_sim(db_path)
    async with SscCardAdapter(restarted.url, 2.0) as ssc:
        assert (await ssc.submit(instr)).bank_ref == before.bank_ref
    assert _duplicates(restarted.url)["duplicates"] == [
        {"payment_id": instr.payment_id, "replayed": 1, "conflicting": 0}
    ]
    _assert_graceful_exit(await asyncio.to_thread(restarted.stop), restarted)

    again = start_bank_sim(db_path)
    assert _duplicates(again.url) == {
        "duplicates": [{"payment_id": instr.payment_id, "replayed": 1, "conflicting": 0}],
        "total_replayed": 1,
        "total_conflicting": 0,
    }
