"""`skillpay up`'s supervision and configuration, without processes: a fake stack and a fake clock."""

from __future__ import annotations

import signal

import pytest

from skillpay.cli.stack import ALL_SERVICES, BadEnvironment, Backoff, Stack, Supervisor, describe_exit

pytestmark = pytest.mark.unit


def test_backoff_doubles_from_half_a_second_up_to_thirty():
    backoff = Backoff()
    assert [backoff.after_death(uptime_s=1) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_starts_again_after_the_child_stayed_up_a_while():
    backoff = Backoff(first_s=0.5, max_s=30, stable_s=60)
    for _ in range(5):
        backoff.after_death(uptime_s=0.1)
    assert backoff.after_death(uptime_s=59.9) == 16  # not long enough: still a crash loop
    assert backoff.after_death(uptime_s=60) == 0.5
    assert backoff.after_death(uptime_s=3) == 1


def test_exit_descriptions_name_the_signal():
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(3) == "exit code 3"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStack:
    """Children that die when told to; ``restart`` revives them or fails while ``broken``."""

    def __init__(self, *names):
        self.codes = dict.fromkeys(names)
        self.restarts: list[str] = []
        self.broken: set[str] = set()

    def children(self):
        return tuple(self.codes)

    def exit_code(self, name):
        return self.codes[name]

    def restart(self, name):
        self.restarts.append(name)
        if name in self.broken:
            raise RuntimeError("port taken")
        self.codes[name] = None
        return f"{name}-address"


def supervised(*names):
    stack, clock, lines = FakeStack(*names), FakeClock(), []
    return stack, clock, lines, Supervisor(stack, lines.append, clock=clock)


def test_a_dead_child_is_reported_and_restarted_after_the_backoff():
    stack, clock, lines, supervisor = supervised("broker", "voucher")
    supervisor.check()
    assert lines == [] and stack.restarts == []
    clock.now += 10
    stack.codes["broker"] = -signal.SIGKILL
    supervisor.check()
    assert lines == ["broker died (killed by SIGKILL) after 10.0 s up; restarting it in 0.5 s"]
    clock.now += 0.4
    supervisor.check()
    assert stack.restarts == []  # not yet
    clock.now += 0.1
    supervisor.check()
    assert stack.restarts == ["broker"] and lines[-1] == "broker restarted on broker-address"
    supervisor.check()
    assert stack.restarts == ["broker"] and len(lines) == 2  # once, and the other child untouched


def test_a_crash_loop_waits_longer_each_time_and_a_stable_child_starts_again_at_half_a_second():
    stack, clock, lines, supervisor = supervised("ledger")
    delays = []
    for _ in range(4):
        clock.now += 1  # dies a second after each start
        stack.codes["ledger"] = 1
        supervisor.check()
        delays.append(supervisor.due["ledger"] - clock.now)
        clock.now = supervisor.due["ledger"]
        supervisor.check()
    assert delays == [0.5, 1, 2, 4]
    clock.now += 120  # stayed up two minutes
    stack.codes["ledger"] = 1
    supervisor.check()
    assert supervisor.due["ledger"] - clock.now == 0.5
    assert "ledger died (exit code 1) after 120.0 s up" in lines[-1]


def test_a_failed_restart_is_tried_again_later_and_said_so():
    stack, clock, lines, supervisor = supervised("broker")
    stack.codes["broker"] = -signal.SIGKILL
    stack.broken.add("broker")
    supervisor.check()
    clock.now = supervisor.due["broker"]
    supervisor.check()
    assert "broker could not be restarted (RuntimeError: port taken); trying again in 1 s" == lines[-1]
    clock.now = supervisor.due["broker"]
    stack.broken.clear()
    supervisor.check()
    assert stack.restarts == ["broker", "broker"] and lines[-1] == "broker restarted on broker-address"


# -- the documented environment ------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    for name in ("VOUCHER_GRPC_LISTEN", "CLAIM_GRPC_LISTEN", "LEDGER_GRPC_LISTEN", "LEDGER_BANK_URL",
                 "GATEWAY_HOST", "GATEWAY_PORT", "GATEWAY_VOUCHER_ADDR", "GATEWAY_CLAIM_ADDR", "GATEWAY_LEDGER_ADDR",
                 "BANK_SIM_HOST", "BANK_SIM_PORT", "SKILLPAY_BROKER_PORT", "KAFKA_BOOTSTRAP_SERVERS",
                 "VOUCHER_DATABASE_URL", "CLAIM_DATABASE_URL", "LEDGER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_ones_the_services_document(clean_env, tmp_path):
    stack = Stack.from_environment(tmp_path)
    assert stack.ports == {"voucher": 50051, "claim": 50052, "ledger": 50053, "gateway": 8080, "bank": 8070}
    assert stack.broker_port == 19092 and stack.kafka_bootstrap == "" and stack.parts == ALL_SERVICES
    assert stack.env_for("ledger")["LEDGER_BANK_URL"] == "http://127.0.0.1:8070"


def test_the_documented_names_reach_each_process(clean_env, tmp_path):
    clean_env.setenv("VOUCHER_GRPC_LISTEN", "0.0.0.0:0")
    clean_env.setenv("GATEWAY_PORT", "0")
    clean_env.setenv("GATEWAY_CLAIM_ADDR", "claims.example:443")
    clean_env.setenv("BANK_SIM_PORT", "9001")
    clean_env.setenv("SKILLPAY_BROKER_PORT", "0")
    clean_env.setenv("LEDGER_DATABASE_URL", "postgresql+asyncpg://db/ledger")
    stack = Stack.from_environment(tmp_path)
    assert stack.ports["voucher"] == 0 and stack.ports["gateway"] == 0 and stack.broker_port is None
    assert stack.env_for("voucher")["VOUCHER_GRPC_LISTEN"] == "0.0.0.0:0"
    stack.ports["voucher"] = 41234  # learnt from its ready file: a restart keeps it
    assert stack.env_for("voucher")["VOUCHER_GRPC_LISTEN"] == "0.0.0.0:41234"
    assert stack.addr("voucher") == "127.0.0.1:41234"  # clients dial loopback, not the wildcard
    gateway = stack.env_for("gateway")
    assert gateway["GATEWAY_CLAIM_ADDR"] == "claims.example:443"
    assert gateway["GATEWAY_VOUCHER_ADDR"] == "127.0.0.1:41234" and gateway["GATEWAY_PORT"] == "0"
    assert stack.needs("gateway") == ("voucher", "ledger")  # the claim address is given
    assert stack.env_for("bank")["BANK_SIM_PORT"] == "9001"
    assert stack.env_for("ledger")["LEDGER_DATABASE_URL"] == "postgresql+asyncpg://db/ledger"


def test_a_bank_url_given_means_no_simulator(clean_env, tmp_path):
    clean_env.setenv("LEDGER_BANK_URL", "https://bank.example/api")
    stack = Stack.from_environment(tmp_path)
    assert "bank" not in stack.parts and stack.needs("ledger") == ()
    assert stack.env_for("ledger")["LEDGER_BANK_URL"] == "https://bank.example/api"


@pytest.mark.parametrize("name, value", [("VOUCHER_GRPC_LISTEN", "no-port"), ("CLAIM_GRPC_LISTEN", "h:70000"),
                                         ("BANK_SIM_PORT", "x" * 5000), ("SKILLPAY_BROKER_PORT", "-1"),
                                         ("GATEWAY_PORT", "eighty")])
def test_a_bad_value_names_the_variable_and_does_not_echo_it(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(BadEnvironment) as caught:
        Stack.from_environment(tmp_path)
    assert name in str(caught.value) and value not in str(caught.value)
