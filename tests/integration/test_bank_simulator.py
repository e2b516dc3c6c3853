"""The bank simulator as a real OS process, driven through the ledger's payment adapters."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from stdnum.cn import ric

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # until pytest's pythonpath is configured in pyproject
    sys.path.insert(0, str(REPO_ROOT))

from bank_sim.app import build_app
from bank_sim.faults import draw
from bank_sim.settings import BankSimSettings
from ledger_svc.adapters.payments import (  # noqa: E402
    BankTransferAdapter,
    BankUnavailable,
    BatchRefused,
    InstructionOutcome,
    PaymentAdapter,
    PaymentBatch,
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


# -- batches, registries, fault plans and statement files (issue 8) ------------------------------
#
# In-process (the ASGI app through httpx.ASGITransport, on its own SQLite file and a clock the
# test moves) where no process is needed; the faults that act on the connection (timeout, drop)
# against the real process above.

CAMT = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
CSV_HEADER = ("booking_date,value_date,bank_ref,payment_id,fund_source,channel,credit_debit,amount_fen,status,"
              "return_reason")
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY0 = date(2025, 3, 3)
CARD_ID_SEQ = 20
ACCOUNT_NO, ACCOUNT_NAME, BANK_CODE = "6222000011112222", "某职业培训学校", "102100099996"


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class InProcessBank:
    def __init__(self, db_path: Path, settle_delay_ms: int = 0) -> None:
        self.clock = MovableClock(T0)
        self.db_path = db_path
        self.app = build_app(BankSimSettings(database_path=db_path, settle_delay_ms=settle_delay_ms), self.clock)
        transport = httpx.ASGITransport(app=self.app)
        self.control = httpx.AsyncClient(transport=transport, base_url="http://bank.test")
        self.adapters = build_payment_adapters("http://bank.test", 2.0, transport=transport)

    async def post(self, path: str, body: dict) -> httpx.Response:
        return await self.control.post(path, json=body)

    async def plan(self, seed: int = 0, **rule: object) -> None:
        response = await self.post("/v1/_fault_plan", {"seed": seed, "rules": [rule]})
        assert response.status_code == 200, response.text

    async def csv_rows(self, day: date, **params: str) -> list[dict[str, str]]:
        response = await self.control.get(f"/v1/statements/{day.isoformat()}.csv", params=params)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        text = response.text
        assert text.splitlines()[0] == CSV_HEADER
        return list(csv.DictReader(io.StringIO(text)))

    async def camt(self, day: date, **params: str) -> ET.Element:
        response = await self.control.get(f"/v1/statements/{day.isoformat()}.xml", params=params)
        assert response.status_code == 200
        root = ET.fromstring(response.content)
        assert root.tag == f"{{{CAMT['c']}}}Document"
        return root

    async def aclose(self) -> None:
        await self.control.aclose()
        for adapter in self.adapters.values():
            await adapter.aclose()
        self.app.state.store.close()


@pytest_asyncio.fixture
async def inproc(tmp_path: Path):
    bank = InProcessBank(tmp_path / "inproc.sqlite3")
    yield bank
    await bank.aclose()


async def _register_card(bank: InProcessBank, status: str = "active") -> None:
    response = await bank.post("/v1/_registry", {"cards": [
        {"id_number": _resident_id(CARD_ID_SEQ), "card_number": "C100", "name": "王五", "status": status}]})
    assert response.status_code == 200 and response.json()["cards"] == 1


async def _register_account(bank: InProcessBank, status: str = "open") -> None:
    response = await bank.post("/v1/_registry", {"accounts": [
        {"account_number": ACCOUNT_NO, "account_name": ACCOUNT_NAME, "bank_code": BANK_CODE, "status": status}]})
    assert response.status_code == 200 and response.json()["accounts"] == 1


@pytest.mark.policy("C7")
@pytest.mark.parametrize(("status", "name", "card_number", "id_seq", "expected"), [
    ("active", "王五", None, CARD_ID_SEQ, ("settled", None)),
    ("active", "王五", "C100", CARD_ID_SEQ, ("settled", None)),
    ("frozen", "王五", None, CARD_ID_SEQ, ("failed", "card_frozen")),
    ("cancelled", "王五", "C100", CARD_ID_SEQ, ("failed", "card_cancelled")),
    ("active", "王六", None, CARD_ID_SEQ, ("failed", "name_mismatch")),
    ("active", "王五", "C999", CARD_ID_SEQ, ("failed", "card_number_mismatch")),
    ("active", "任何人", None, CARD_ID_SEQ + 1, ("settled", None)),  # open registry: any valid ID
])
async def test_C7_ssc_card_payee_must_match_the_card_registry(  # type: ignore[no-untyped-def]
    inproc, status, name, card_number, id_seq, expected
) -> None:
    await _register_card(inproc, status)
    instr = _ssc(12_300, payee_name=name, id_seq=id_seq, payee_card_number=card_number)
    status_now = await inproc.adapters["ssc_card"].submit(instr)
    assert (status_now.state, status_now.failure_reason) == expected
    booked = [row["payment_id"] for row in await inproc.csv_rows(DAY0)]
    # A failed payment moved no money: it is not on the statement file.
    assert booked == ([instr.payment_id] if expected[0] == "settled" else [])


@pytest.mark.parametrize(("status", "name", "bank_code", "account", "expected"), [
    ("open", ACCOUNT_NAME, BANK_CODE, ACCOUNT_NO, ("settled", None)),
    ("closed", ACCOUNT_NAME, BANK_CODE, ACCOUNT_NO, ("failed", "account_closed")),
    ("open", "别的学校", BANK_CODE, ACCOUNT_NO, ("failed", "account_name_mismatch")),
    ("open", ACCOUNT_NAME, "103100000026", ACCOUNT_NO, ("failed", "bank_code_mismatch")),
    ("open", ACCOUNT_NAME, None, ACCOUNT_NO, ("failed", "bank_code_mismatch")),
    ("open", "任何名称", None, "6222999988887777", ("settled", None)),  # open registry: any account
])
async def test_bank_transfer_payee_must_match_the_account_registry(  # type: ignore[no-untyped-def]
    inproc, status, name, bank_code, account, expected
) -> None:
    await _register_account(inproc, status)
    instr = _transfer(45_600, payee_name=name, payee_account=account, payee_bank_code=bank_code)
    final = await inproc.adapters["bank_transfer"].submit(instr)
    assert (final.state, final.failure_reason) == expected


@pytest.mark.policy("C7")
async def test_strict_registry_fails_payees_it_does_not_hold(inproc) -> None:  # type: ignore[no-untyped-def]
    response = await inproc.post("/v1/_registry", {"mode": "strict"})
    assert response.json() == {"mode": "strict", "cards": 0, "accounts": 0}
    card = await inproc.adapters["ssc_card"].submit(_ssc(100))
    account = await inproc.adapters["bank_transfer"].submit(_transfer(100))
    assert (card.failure_reason, account.failure_reason) == ("card_not_found", "account_not_found")


@pytest.mark.policy("C4")
async def test_registry_keeps_resident_ids_only_as_digest_and_mask_and_names_bad_fields(  # type: ignore[no-untyped-def]
    inproc,
) -> None:
    await _register_card(inproc)
    await inproc.adapters["ssc_card"].submit(_ssc(100, payee_name="王五", id_seq=CARD_ID_SEQ))
    rid = _resident_id(CARD_ID_SEQ)
    stored = b"".join(p.read_bytes() for p in inproc.db_path.parent.glob(inproc.db_path.name + "*"))
    assert rid.encode() not in stored
    assert f"{rid[:6]}********{rid[-4:]}".encode() in stored

    bad = await inproc.post("/v1/_registry", {"mode": "sometimes", "cards": [
        {"id_number": _invalid_resident_id(), "card_number": "C-1", "name": "", "status": "lost"}],
        "accounts": [{"account_number": ACCOUNT_NO, "bank_code": BANK_CODE, "status": "open"}]})
    assert bad.status_code == 422
    assert {v["field"] for v in bad.json()["violations"]} == {
        "mode", "cards[0].id_number", "cards[0].card_number", "cards[0].name", "cards[0].status",
        "accounts[0].account_name"}
    assert _invalid_resident_id() not in bad.text
    assert (await inproc.control.get("/v1/_registry")).json()["cards"] == 1  # nothing changed


async def test_a_batch_whose_control_totals_do_not_match_is_refused_whole(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    batch = PaymentBatch.of([_ssc(1_000, id_seq=1), _ssc(2_000, id_seq=2)])
    assert (batch.control_count, batch.control_sum_fen) == (2, 3_000)
    for wrong, field in (({"control_sum_fen": 2_999}, "control_sum_fen"), ({"control_count": 3}, "control_count")):
        with pytest.raises(BatchRefused) as excinfo:
            await ssc.submit_batch(dataclasses.replace(batch, **wrong))
        assert excinfo.value.reason == "control_totals_mismatch" and excinfo.value.status_code == 422
        assert [v.field for v in excinfo.value.violations] == [field]
        for pid in batch.payment_ids:
            assert await ssc.query(pid) is None  # nothing accepted
    answer = await ssc.submit_batch(batch)
    assert [r.outcome for r in answer.results] == [InstructionOutcome.ACCEPTED] * 2

    malformed = await inproc.post("/v1/batches", {"batch_id": "-x", "control_count": -1, "instructions": []})
    assert malformed.status_code == 422
    assert {v["field"] for v in malformed.json()["violations"]} == {
        "batch_id", "control_count", "control_sum_fen", "instructions"}


async def test_a_batch_is_answered_per_instruction(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    known = _ssc(5_000, id_seq=3)
    first = await ssc.submit(known)
    fresh, invalid = _ssc(6_000, id_seq=4), _ssc(7_000, payee_id_number=_invalid_resident_id())
    conflicting = _ssc(5_001, id_seq=3, payment_id=known.payment_id)
    answer = await ssc.submit_batch(PaymentBatch.of([fresh, invalid, known, conflicting]))

    assert [(r.payment_id, r.outcome, r.reason) for r in answer.results] == [
        (fresh.payment_id, InstructionOutcome.ACCEPTED, None),
        (invalid.payment_id, InstructionOutcome.REJECTED, "invalid_request"),
        (known.payment_id, InstructionOutcome.ALREADY_KNOWN, None),
        (known.payment_id, InstructionOutcome.REJECTED, "payment_id_conflict"),
    ]
    assert [v.field for v in answer.results[1].violations] == ["payee_id_number"]
    assert answer.results[2].status is not None and answer.results[2].status.bank_ref == first.bank_ref
    assert _invalid_resident_id() not in repr(answer)
    assert await ssc.query(invalid.payment_id) is None
    # Booked at the same instant (the test's clock stands still): ordered by payment id.
    assert [r["payment_id"] for r in await inproc.csv_rows(DAY0)] == sorted([known.payment_id, fresh.payment_id])
    # The same batch id with other content is refused whole.
    other = PaymentBatch.of([fresh])
    assert [r.outcome for r in (await ssc.submit_batch(other)).results] == [InstructionOutcome.ALREADY_KNOWN]
    with pytest.raises(BatchRefused) as excinfo:
        await ssc.submit_batch(dataclasses.replace(other, instructions=(dataclasses.replace(fresh, memo="x"),)))
    assert excinfo.value.reason == "batch_id_conflict" and excinfo.value.status_code == 409


async def test_reject_fault_by_fraction_is_reproducible_with_its_seed(tmp_path: Path) -> None:
    instructions = [_ssc(1_000 + i, id_seq=i, payment_id=f"pay-frac-{i:03d}") for i in range(60)]
    expected = {i.payment_id for i in instructions if draw(7, "reject", i.payment_id) < 0.25}
    assert 5 < len(expected) < 30
    rejected_per_run = []
    for run in range(2):
        bank = InProcessBank(tmp_path / f"frac{run}.sqlite3")
        try:
            await bank.plan(seed=7, mode="reject", fraction=0.25, reason="bank_declined")
            answer = await bank.adapters["ssc_card"].submit_batch(PaymentBatch.of(instructions))
            rejected = {r.payment_id for r in answer.results if r.outcome is InstructionOutcome.REJECTED}
            assert {r.reason for r in answer.results if r.payment_id in rejected} == {"bank_declined"}
            for pid in rejected:
                assert await bank.adapters["ssc_card"].query(pid) is None  # nothing stored or paid
            rejected_per_run.append(rejected)
        finally:
            await bank.aclose()
    assert rejected_per_run == [expected, expected]


async def test_reject_fault_by_payment_id(inproc) -> None:  # type: ignore[no-untyped-def]
    target, other = _ssc(100, id_seq=5), _ssc(200, id_seq=6)
    await inproc.plan(mode="reject", payment_ids=[target.payment_id], reason="suspected_fraud")
    with pytest.raises(PaymentRejected) as excinfo:
        await inproc.adapters["ssc_card"].submit(target)
    assert excinfo.value.reason == "suspected_fraud"
    assert (await inproc.adapters["ssc_card"].submit(other)).state == "settled"
    bad = await inproc.post("/v1/_fault_plan", {"seed": -1, "rules": [{"mode": "explode"}, {"mode": "delay",
                                                "fraction": 2, "delay_ms": "soon"}]})
    assert {v["field"] for v in bad.json()["violations"]} == {
        "seed", "rules[0].mode", "rules[1].fraction", "rules[1].delay_ms"}


async def test_delay_fault_holds_the_outcome_back(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    slow, quick = _ssc(300, id_seq=7), _ssc(400, id_seq=8)
    await inproc.plan(mode="delay", payment_ids=[slow.payment_id], delay_ms=60_000)
    assert (await ssc.submit(slow)).state == "accepted"
    assert (await ssc.submit(quick)).state == "settled"
    inproc.clock.advance(seconds=59)
    assert (await ssc.query(slow.payment_id)).state == "accepted"  # type: ignore[union-attr]
    inproc.clock.advance(seconds=2)
    settled = await ssc.query(slow.payment_id)
    assert settled is not None and settled.state == "settled" and settled.settled_at == T0 + timedelta(seconds=60)


async def test_duplicate_fault_delivers_the_same_outcome_twice_and_books_it_once(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    twice, once = _ssc(500, id_seq=9), _ssc(600, id_seq=10)
    await inproc.plan(mode="duplicate", payment_ids=[twice.payment_id])
    answer = await ssc.submit_batch(PaymentBatch.of([twice, once]))
    assert [r.payment_id for r in answer.results] == [twice.payment_id, twice.payment_id, once.payment_id]
    assert answer.results[0] == answer.results[1]
    # An answer given twice is not a payment made twice: every statement books it once.
    rows = await inproc.csv_rows(DAY0)
    assert [r["payment_id"] for r in rows].count(twice.payment_id) == 1
    entries = (await inproc.camt(DAY0)).findall(".//c:Ntry", CAMT)
    assert [e.findtext(".//c:EndToEndId", namespaces=CAMT) for e in entries].count(twice.payment_id) == 1
    raw = (await inproc.control.get(f"/v1/statements/{DAY0}")).json()
    assert [e["payment_id"] for e in raw["entries"]].count(twice.payment_id) == 1


async def test_double_booking_fault_lists_the_payout_twice_on_the_statement_files(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    twice, once = _ssc(500, id_seq=9), _ssc(600, id_seq=10)
    await inproc.plan(mode="double_booking", payment_ids=[twice.payment_id])
    answer = await ssc.submit_batch(PaymentBatch.of([twice, once]))
    assert [r.payment_id for r in answer.results] == [twice.payment_id, once.payment_id]
    rows = await inproc.csv_rows(DAY0)
    assert [r["payment_id"] for r in rows].count(twice.payment_id) == 2
    assert len({r["bank_ref"] for r in rows if r["payment_id"] == twice.payment_id}) == 1
    entries = (await inproc.camt(DAY0)).findall(".//c:Ntry", CAMT)
    assert [e.findtext(".//c:EndToEndId", namespaces=CAMT) for e in entries].count(twice.payment_id) == 2
    # The bank's own record (JSON statement) still holds it once: the extra booking is the error.
    raw = (await inproc.control.get(f"/v1/statements/{DAY0}")).json()
    assert [e["payment_id"] for e in raw["entries"]].count(twice.payment_id) == 1


async def test_returned_payment_comes_back_on_a_later_days_statement(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc = inproc.adapters["ssc_card"]
    returned = _ssc(12_345, id_seq=11)
    await inproc.plan(mode="return", payment_ids=[returned.payment_id], after_days=2, reason="MD07")
    first = await ssc.submit(returned)
    assert first.state == "settled" and first.returned_at is None

    debit = await inproc.csv_rows(DAY0)
    assert [(r["payment_id"], r["credit_debit"], r["amount_fen"], r["return_reason"]) for r in debit] == [
        (returned.payment_id, "DBIT", "12345", "")]
    inproc.clock.advance(days=1)
    assert await inproc.csv_rows(DAY0 + timedelta(days=1)) == []
    assert await inproc.csv_rows(DAY0 + timedelta(days=2)) == []  # not yet: it comes back at 10:00
    inproc.clock.advance(days=1, seconds=1)
    (credit,) = await inproc.csv_rows(DAY0 + timedelta(days=2))
    assert credit == {
        "booking_date": "2025-03-05", "value_date": "2025-03-05", "bank_ref": first.bank_ref + "R",
        "payment_id": returned.payment_id, "fund_source": "unemployment_insurance", "channel": "ssc_card",
        "credit_debit": "CRDT", "amount_fen": "12345", "status": "BOOK", "return_reason": "MD07"}
    assert await inproc.csv_rows(DAY0) == debit  # the earlier day's statement does not change
    status = await ssc.query(returned.payment_id)
    assert status is not None and status.return_reason == "MD07" and status.returned_at == T0 + timedelta(days=2)

    (entry,) = (await inproc.camt(DAY0 + timedelta(days=2))).findall(".//c:Ntry", CAMT)
    assert entry.findtext("c:CdtDbtInd", namespaces=CAMT) == "CRDT"
    assert entry.findtext("c:Amt", namespaces=CAMT) == "123.45"
    assert entry.findtext("c:NtryDtls/c:TxDtls/c:RtrInf/c:Rsn/c:Cd", namespaces=CAMT) == "MD07"
    assert entry.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=CAMT) == returned.payment_id


async def test_statement_files_per_fund_account_in_csv_and_camt053(inproc) -> None:  # type: ignore[no-untyped-def]
    ssc, transfer = inproc.adapters["ssc_card"], inproc.adapters["bank_transfer"]
    a = _ssc(12_345, id_seq=12, fund_source="esf")
    b = _ssc(5, id_seq=13, fund_source="esf")
    c = _transfer(100, fund_source="uif")
    failed = _ssc(999, payee_name="FAIL 某", id_seq=14, fund_source="esf")
    for adapter, instr in ((ssc, a), (ssc, b), (transfer, c), (ssc, failed)):
        await adapter.submit(instr)
        inproc.clock.advance(seconds=1)

    rows = await inproc.csv_rows(DAY0)
    assert [(r["fund_source"], r["payment_id"], r["amount_fen"], r["credit_debit"], r["status"], r["channel"])
            for r in rows] == [("esf", a.payment_id, "12345", "DBIT", "BOOK", "ssc_card"),
                               ("esf", b.payment_id, "5", "DBIT", "BOOK", "ssc_card"),
                               ("uif", c.payment_id, "100", "DBIT", "BOOK", "bank_transfer")]
    assert {r["booking_date"] for r in rows} == {r["value_date"] for r in rows} == {"2025-03-03"}
    statuses = {i.payment_id: await ssc.query(i.payment_id) for i in (a, b, c)}
    assert [r["bank_ref"] for r in rows] == [statuses[r["payment_id"]].bank_ref for r in rows]  # type: ignore[union-attr]
    # CSV round trip: written back with the csv module, byte for byte the same file.
    text = (await inproc.control.get(f"/v1/statements/{DAY0}.csv")).text
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER.split(","), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    assert out.getvalue() == text
    assert [r["payment_id"] for r in await inproc.csv_rows(DAY0, fund_source="uif")] == [c.payment_id]

    root = await inproc.camt(DAY0)
    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", CAMT)
    assert [s.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=CAMT) for s in stmts] == ["esf", "uif"]
    esf = stmts[0]
    entries = esf.findall("c:Ntry", CAMT)
    assert [e.findtext("c:Amt", namespaces=CAMT) for e in entries] == ["123.45", "0.05"]
    assert {e.find("c:Amt", CAMT).get("Ccy") for e in entries} == {"CNY"}  # type: ignore[union-attr]
    for e, instr in zip(entries, (a, b), strict=True):
        assert e.findtext("c:CdtDbtInd", namespaces=CAMT) == "DBIT"
        assert e.findtext("c:Sts/c:Cd", namespaces=CAMT) == "BOOK"
        assert e.findtext("c:BookgDt/c:Dt", namespaces=CAMT) == e.findtext("c:ValDt/c:Dt", namespaces=CAMT) \
            == "2025-03-03"
        assert e.findtext("c:AcctSvcrRef", namespaces=CAMT) == statuses[instr.payment_id].bank_ref  # type: ignore[union-attr]
        assert e.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=CAMT) == instr.payment_id
        assert e.find("c:NtryDtls/c:TxDtls/c:RtrInf", CAMT) is None
    summary = esf.find("c:TxsSummry", CAMT)
    assert summary is not None
    assert summary.findtext("c:TtlDbtNtries/c:NbOfNtries", namespaces=CAMT) == "2"
    assert summary.findtext("c:TtlDbtNtries/c:Sum", namespaces=CAMT) == "123.50"
    balances = {b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=CAMT): (b.findtext("c:Amt", namespaces=CAMT),
                b.findtext("c:CdtDbtInd", namespaces=CAMT)) for b in esf.findall("c:Bal", CAMT)}
    assert balances == {"OPBD": ("0.00", "CRDT"), "CLBD": ("123.50", "DBIT")}
    # The next day's statement opens where this one closed.
    next_day = (await inproc.camt(DAY0 + timedelta(days=1))).find("c:BkToCstmrStmt/c:Stmt", CAMT)
    assert next_day is not None and next_day.findall("c:Ntry", CAMT) == []
    assert next_day.findtext("c:Bal/c:Amt", namespaces=CAMT) == "123.50"

    # The adapters fetch the same files, streamed.
    fetched = b"".join([chunk async for chunk in ssc.statement_file(DAY0, "csv")])
    assert fetched.decode() == text
    fetched_xml = b"".join([chunk async for chunk in transfer.statement_file(DAY0, "xml", fund_source="uif")])
    assert [s.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=CAMT)
            for s in ET.fromstring(fetched_xml).findall(".//c:Stmt", CAMT)] == ["uif"]

    only_uif = await inproc.camt(DAY0, fund_source="uif")
    assert [s.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=CAMT)
            for s in only_uif.findall(".//c:Stmt", CAMT)] == ["uif"]
    assert (await inproc.control.get("/v1/statements/2025-02-30.xml")).status_code == 422


async def test_timeout_fault_stores_the_batch_and_holds_the_answer(bank_sim: BankSimProcess) -> None:
    instr = _ssc(77_700, id_seq=15)
    async with httpx.AsyncClient(base_url=bank_sim.url, timeout=5.0) as control, \
            SscCardAdapter(bank_sim.url, timeout_s=0.5) as impatient:
        try:
            plan = {"rules": [{"mode": "timeout", "payment_ids": [instr.payment_id], "hold_ms": 3000}]}
            assert (await control.post("/v1/_fault_plan", json=plan)).status_code == 200
            with pytest.raises(PaymentInDoubt) as excinfo:
                await impatient.submit_batch(PaymentBatch.of([instr]))
            assert excinfo.value.batch_id and instr.payee_id_number not in str(excinfo.value)
        finally:
            await control.post("/v1/_fault_plan", json={"rules": []})
    async with SscCardAdapter(bank_sim.url, 2.0) as ssc:
        final = await _wait_final(ssc, instr.payment_id)
    assert final.state == "settled"  # the bank took it although nobody heard its answer


async def test_drop_fault_stores_the_batch_and_never_answers(bank_sim: BankSimProcess) -> None:
    instr = _ssc(88_800, id_seq=16)
    async with httpx.AsyncClient(base_url=bank_sim.url, timeout=5.0) as control, \
            SscCardAdapter(bank_sim.url, timeout_s=3.0) as ssc:
        try:
            plan = {"seed": 3, "rules": [{"mode": "drop", "payment_ids": [instr.payment_id]}]}
            assert (await control.post("/v1/_fault_plan", json=plan)).json()["rules"][0]["mode"] == "drop"
            started = time.monotonic()
            with pytest.raises(PaymentInDoubt):
                await ssc.submit(instr)
            assert time.monotonic() - started < 2.5  # the connection was closed, not timed out
        finally:
            await control.post("/v1/_fault_plan", json={"rules": []})
        final = await _wait_final(ssc, instr.payment_id)
    assert final.state == "settled"
    assert instr.payee_id_number not in bank_sim.log_text()


@pytest.mark.policy("C7")
async def test_C7_payout_worker_through_the_real_simulator_with_faults(bank_sim: BankSimProcess) -> None:
    """The worker's batches through the HTTP adapters and the simulator process, with seeded
    rejections, timeouts after acceptance and duplicate answers: every payment ends settled or
    failed with the bank's reason, none is sent twice, and the bank paid each settled one once."""
    from ledger_svc.bootstrap import bootstrap
    from ledger_svc.domain.transfers import TransferCode
    from ledger_svc.domain.model import FundType, Payee, PaymentState
    from ledger_svc.service_layer import commands
    from ledger_svc.service_layer.payouts import PayoutWorker
    from skillpay.actors import Actor, ActorKind, service_actor
    from skillpay.clock import SystemClock
    from skillpay.pii import PiiVault
    from tests.fakes import FakeLedgerUnitOfWork

    vault = PiiVault(bytes(32), bytes(range(32)))
    uows = FakeLedgerUnitOfWork.factory(SystemClock())
    bus = bootstrap(uows, clock=SystemClock())
    finance = Actor(ActorKind.FINANCE, "finance-1")
    await bus.handle(commands.OpenFund(actor=finance, fund_code="esf", name="就业补助资金",
                                       fund_type=FundType.EMPLOYMENT_SUBSIDY))
    await bus.handle(commands.AllocateBudget(actor=finance.for_request("b"), fund_code="esf", amount_fen=10**9))
    run = uuid.uuid4().hex[:8]
    ids = []
    for i in range(60):
        person = i % 4 != 0
        rid = _resident_id(100 + i)
        payee = Payee("张三", f"{rid[:6]}********{rid[-4:]}", vault.seal(rid)) if person else Payee(
            "某职业培训学校", "", vault.seal("91110101MA01ABCD2X"), account_number="6222020200112233445",
            bank_code="102100099996")
        pid = f"po-{run}-{i:03d}"
        await bus.handle(commands.RequestPayout(
            actor=service_actor("claim").for_request(f"event:{pid}"), payout_request_id=pid,
            channel="ssc_card" if person else "bank_transfer", fund_code="esf", amount_fen=1_000 + i, payee=payee,
            references={}))
        ids.append(pid)

    plan = {"seed": 5, "rules": [{"mode": "reject", "fraction": 0.1, "reason": "bank_declined"},
                                 {"mode": "timeout", "fraction": 0.05, "hold_ms": 1500},
                                 {"mode": "duplicate", "fraction": 0.05}]}
    adapters = build_payment_adapters(bank_sim.url, timeout_s=0.5)
    async with httpx.AsyncClient(base_url=bank_sim.url, timeout=5.0) as control:
        before = (await control.get("/v1/duplicates")).json()["total_replayed"]
        try:
            assert (await control.post("/v1/_fault_plan", json=plan)).status_code == 200
            worker = PayoutWorker(bus, uows, adapters, vault, batch_size=8)
            for _ in range(100):
                await worker.run_once()
                payments = uows.db.tables["payments"]
                if all(payments[pid].state in (PaymentState.SETTLED, PaymentState.FAILED) for pid in ids):
                    break
                await asyncio.sleep(0.05)
        finally:
            await control.post("/v1/_fault_plan", json={"rules": []})
            for adapter in adapters.values():
                await adapter.aclose()
        after = (await control.get("/v1/duplicates")).json()["total_replayed"]

    payments = uows.db.tables["payments"]
    rejected = {pid for pid in ids if draw(5, "reject", pid) < 0.1}
    assert rejected and any(draw(5, "timeout", pid) < 0.05 for pid in ids if pid not in rejected)
    assert {pid for pid in ids if payments[pid].state is PaymentState.FAILED} == rejected
    assert {payments[pid].failure_reason for pid in rejected} == {"rejected by bank: bank_declined"}
    assert all(payments[pid].state is PaymentState.SETTLED for pid in ids if pid not in rejected)
    assert after == before  # nothing was sent twice: the timed-out batches were resolved by query
    disbursed = [t.user_data for t in uows.db.tables["transfers"].values() if t.code is TransferCode.SETTLEMENT]
    assert sorted(disbursed) == sorted(set(ids) - rejected)
    day = datetime.now(SHANGHAI).date()
    statement = [e["payment_id"] for e in _raw_statement(bank_sim.url, day)["entries"]]
    paid = [pid for pid in statement if pid.startswith(f"po-{run}-")]
    if {payments[pid].settled_at.astimezone(SHANGHAI).date() for pid in disbursed} == {day}:  # type: ignore[union-attr]
        assert sorted(paid) == sorted(disbursed)  # the bank paid each once
