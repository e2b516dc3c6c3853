"""docker-compose.yml, the Dockerfile and deploy/postgres-init.sql agree with each other and with the code.

No Docker engine is needed: the compose file is read as YAML and compared with the settings
classes the processes read their environment through (so renaming a setting breaks this test),
with the Dockerfile's text and with the init script. Every check is a function returning a list
of problems. Each runs against the real files (no problems expected) and against deliberately
broken copies (the expected problem must be reported), so no check can pass vacuously.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import inspect
import json
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import bank_sim.settings  # noqa: E402
from bank_sim.settings import BankSimSettings  # noqa: E402
from claim_svc.config import ClaimSettings  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402
from ledger_svc.config import LedgerSettings  # noqa: E402
from skillpay.cli.stack import MODULES  # noqa: E402
from voucher_svc.config import VoucherSettings  # noqa: E402

pytestmark = pytest.mark.unit

COMPOSE_PATH = _ROOT / "docker-compose.yml"
DOCKERFILE_PATH = _ROOT / "Dockerfile"
DOCKERIGNORE_PATH = _ROOT / ".dockerignore"
INIT_SQL_PATH = _ROOT / "deploy" / "postgres-init.sql"

GRPC_SERVICES = ("voucher", "claim", "ledger")
SKILLPAY_SERVICES = ("bank", *GRPC_SERVICES, "gateway")
REQUIRED_SERVICES = ("kafka", "postgres", *SKILLPAY_SERVICES)
SETTINGS: dict[str, type[BaseSettings]] = {
    "voucher": VoucherSettings,
    "claim": ClaimSettings,
    "ledger": LedgerSettings,
    "gateway": GatewaySettings,
    "bank": BankSimSettings,
}
# Settings fields every deployed process must be given (names, not env vars: the env var names
# are derived from the classes, so a renamed field or prefix shows up here).
REQUIRED_FIELDS = {
    # consumer_assignment: replicas of a service must share partitions as a group, not each read all.
    "voucher": ("kafka_bootstrap_servers", "data_dir", "pii_key", "lookup_key", "grpc_listen", "database_url",
                "consumer_assignment", "auth_public_key"),
    "claim": ("kafka_bootstrap_servers", "data_dir", "pii_key", "lookup_key", "grpc_listen", "database_url",
                "consumer_assignment", "auth_public_key"),
    "ledger": ("kafka_bootstrap_servers", "data_dir", "pii_key", "lookup_key", "grpc_listen", "database_url",
               "bank_url", "consumer_assignment", "auth_public_key"),
    "gateway": ("host", "port", "voucher_addr", "claim_addr", "ledger_addr", "auth_private_key"),
    "bank": ("host", "port", "database_path"),
}
ANY_ADDRESS = {"0.0.0.0", "[::]", "::"}

# What an operator puts into .env: the variables compose must not invent defaults for.
DEPLOY_ENV = {
    "POSTGRES_PASSWORD": "pw-for-the-test",
    "SKILLPAY_PII_KEY": base64.b64encode(bytes(range(32))).decode(),
    "SKILLPAY_LOOKUP_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
    "SKILLPAY_AUTH_PRIVATE_KEY": base64.b64encode(bytes(range(64, 96))).decode(),
    "SKILLPAY_AUTH_PUBLIC_KEY": base64.b64encode(bytes(range(96, 128))).decode(),
}


# -- reading the files ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Deployment:
    compose: dict
    dockerfile: str
    dockerignore: str
    init_sql: str
    settings: dict[str, type[BaseSettings]]


def load_compose(text: str) -> dict:
    # The JSON round trip gives every service its own dicts (YAML aliases share them), so a
    # broken copy can change one service without touching another.
    return json.loads(json.dumps(yaml.safe_load(text)))


def real_deployment() -> Deployment:
    return Deployment(
        compose=load_compose(COMPOSE_PATH.read_text()),
        dockerfile=DOCKERFILE_PATH.read_text() if DOCKERFILE_PATH.exists() else "",
        dockerignore=DOCKERIGNORE_PATH.read_text() if DOCKERIGNORE_PATH.exists() else "",
        init_sql=INIT_SQL_PATH.read_text() if INIT_SQL_PATH.exists() else "",
        settings=dict(SETTINGS),
    )


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return real_deployment()


# -- compose helpers --------------------------------------------------------------------------
class MissingVariable(LookupError):
    pass


_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                  r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value, env: dict[str, str]) -> str:
    """Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"

    def substitute(m: re.Match) -> str:
        if m["escaped"]:
            return "$"
        name = m["name"] or m["bare"]
        op, arg = m["op"], m["arg"] or ""
        present = name in env
        nonempty = bool(env.get(name))
        if op in (":-", "-"):
            return env[name] if (nonempty if op == ":-" else present) else arg
        if op in (":?", "?"):
            if not (nonempty if op == ":?" else present):
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        if op in (":+", "+"):
            return arg if (nonempty if op == ":+" else present) else ""
        return env.get(name, "")

    return _VAR.sub(substitute, str(value))


def services(d: Deployment) -> dict[str, dict]:
    return d.compose.get("services") or {}


def raw_env(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            name, sep, value = str(item).partition("=")
            out[name] = value if sep else None
        return out
    return {k: (None if v is None else (str(v).lower() if isinstance(v, bool) else str(v))) for k, v in env.items()}


def resolved_env(service: dict, env: dict[str, str] = DEPLOY_ENV) -> dict[str, str]:
    return {k: interpolate(v, env) for k, v in raw_env(service).items()}


def published_ports(service: dict) -> set[tuple[int | None, int]]:
    """(host port or None, container port) for every entry of `ports`."""
    out = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pub = entry.get("published")
            out.add((int(pub) if pub not in (None, "") else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        target, published = parts[-1], (parts[-2] if len(parts) > 1 else None)
        targets = _port_range(target)
        hosts = _port_range(published) if published else [None] * len(targets)
        out.update(zip(hosts, targets))
    return out


def _port_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {"condition": "service_started"}) for name, spec in deps.items()}


def healthcheck_command(service: dict) -> str | None:
    hc = service.get("healthcheck") or {}
    test = hc.get("test")
    if hc.get("disable") or not test:
        return None
    if isinstance(test, str):
        return test
    if test[0] == "NONE":
        return None
    return " ".join(str(t) for t in test[1:])


def volume_mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of every entry of `volumes`."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            out.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            parts = str(entry).split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


def as_argv(value) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def names_of(d: Deployment, service_name: str) -> set[str]:
    """What a service is reachable as on the compose network."""
    svc = services(d).get(service_name) or {}
    names = {service_name}
    if svc.get("hostname"):
        names.add(svc["hostname"])
    nets = svc.get("networks")
    if isinstance(nets, dict):
        for spec in nets.values():
            names.update((spec or {}).get("aliases") or [])
    return names


# -- settings helpers -------------------------------------------------------------------------
def env_var(cls: type[BaseSettings], field: str) -> str:
    """The environment variable pydantic-settings reads `field` from (KeyError if no such field)."""
    return sorted(env_vars_of_field(cls, field))[0]


def env_vars_of_field(cls: type[BaseSettings], field: str) -> set[str]:
    info = cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, str):
        return {alias.upper()}
    if isinstance(alias, AliasChoices):
        return {c.upper() for c in alias.choices if isinstance(c, str)}
    return {(str(cls.model_config.get("env_prefix", "")) + field).upper()}


def accepted_env(cls: type[BaseSettings]) -> set[str]:
    names = set().union(*(env_vars_of_field(cls, f) for f in cls.model_fields))
    if cls is BankSimSettings and "SKILLPAY_DATA_DIR" in inspect.getsource(bank_sim.settings.default_database_path):
        names.add("SKILLPAY_DATA_DIR")  # read directly with os.environ for the default database path
    return names


# -- Dockerfile helpers -----------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    lines, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        current += stripped
        instr, _, args = current.partition(" ")
        lines.append((instr.upper(), args.strip()))
        current = ""
    return lines


def final_stage(text: str) -> list[tuple[str, str]]:
    instructions = dockerfile_instructions(text)
    starts = [i for i, (instr, _) in enumerate(instructions) if instr == "FROM"]
    return instructions[starts[-1]:] if starts else []


def exec_form(args: str) -> list[str]:
    if args.startswith("["):
        return json.loads(args)
    return ["/bin/sh", "-c", args]


def image_entrypoint_and_cmd(dockerfile: str) -> tuple[list[str], list[str]]:
    entry, cmd = [], []
    for instr, args in final_stage(dockerfile):
        if instr == "ENTRYPOINT":
            entry, cmd = exec_form(args), []  # ENTRYPOINT resets an inherited CMD
        elif instr == "CMD":
            cmd = exec_form(args)
    return entry, cmd


def effective_argv(service: dict, dockerfile: str) -> list[str]:
    entry, cmd = image_entrypoint_and_cmd(dockerfile)
    if "entrypoint" in service:
        entry, cmd = as_argv(service["entrypoint"]), []
    if "command" in service:
        cmd = as_argv(service["command"])
    return entry + cmd


def builds_repo_dockerfile(service: dict) -> bool:
    build = service.get("build")
    if build is None:
        return False
    context, dockerfile = (build, "Dockerfile") if isinstance(build, str) else (
        build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    return (_ROOT / context).resolve() == _ROOT and (_ROOT / context / dockerfile).resolve() == DOCKERFILE_PATH


def created_databases(sql: str) -> set[str]:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    found = set()
    for quoted, bare in re.findall(r'\bCREATE\s+DATABASE\s+(?:"([^"]+)"|(\w+))', sql, flags=re.I):
        found.add(quoted or bare.lower())
    return found


# -- the checks -------------------------------------------------------------------------------
Problems = list[str]


def check_services_present(d: Deployment) -> Problems:
    return [f"service {name!r} is missing" for name in REQUIRED_SERVICES if name not in services(d)]


def check_image_or_build(d: Deployment) -> Problems:
    problems = []
    for name, svc in services(d).items():
        if not svc.get("image") and not svc.get("build"):
            problems.append(f"{name}: neither image nor build")
    for name in SKILLPAY_SERVICES:
        if name in services(d) and not builds_repo_dockerfile(services(d)[name]):
            problems.append(f"{name}: not built from the repository's Dockerfile")
    if not DOCKERFILE_PATH.exists():
        problems.append("Dockerfile does not exist")
    return problems


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in filter(None, (v.strip() for v in (value or "").split(","))):
        name, _, rest = item.partition("://")
        host, port = host_port(rest)
        out[name.upper()] = (host, port)
    return out


def check_kafka(d: Deployment) -> Problems:
    problems = []
    if "zookeeper" in json.dumps(d.compose).lower():
        problems.append("zookeeper is mentioned: the deployment must run Kafka in KRaft mode")
    kafka = services(d).get("kafka")
    if kafka is None:
        return problems + ["no kafka service"]
    image = str(kafka.get("image", ""))
    if not re.fullmatch(r"(docker\.io/)?apache/kafka(-native)?:[\w.\-]+", image):
        problems.append(f"kafka: image {image!r} is not an official apache/kafka image")
    env = resolved_env(kafka)
    roles = {r.strip() for r in env.get("KAFKA_PROCESS_ROLES", "").split(",")}
    if not {"broker", "controller"} <= roles:
        problems.append(f"kafka: KAFKA_PROCESS_ROLES={env.get('KAFKA_PROCESS_ROLES')!r} lacks broker or controller")
    node_id = env.get("KAFKA_NODE_ID", "")
    if not node_id.isdigit():
        problems.append("kafka: KAFKA_NODE_ID is not set")
    listeners = _listeners(env.get("KAFKA_LISTENERS", ""))
    controller_names = {n.strip().upper() for n in env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "").split(",") if n.strip()}
    if not controller_names or not controller_names <= set(listeners):
        problems.append("kafka: KAFKA_CONTROLLER_LISTENER_NAMES must name listeners of KAFKA_LISTENERS")
    if "PLAINTEXT" not in listeners:
        problems.append("kafka: no PLAINTEXT listener")
    protocol_map = dict(p.split(":", 1) for p in env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(",") if ":" in p)
    if not set(listeners) <= {k.upper() for k in protocol_map}:
        problems.append("kafka: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP does not cover every listener")
    controller_ports = {listeners[n][1] for n in controller_names if n in listeners}
    voters = [v.strip() for v in env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").split(",") if v.strip()]
    ours = [v for v in voters if v.split("@", 1)[0] == node_id]
    if not ours:
        problems.append("kafka: KAFKA_CONTROLLER_QUORUM_VOTERS does not contain this node")
    for voter in ours:
        host, port = host_port(voter.split("@", 1)[1])
        if host not in names_of(d, "kafka") | {"localhost", "127.0.0.1"} or port not in controller_ports:
            problems.append(f"kafka: quorum voter {voter!r} is not this node's controller listener")
    advertised = _listeners(env.get("KAFKA_ADVERTISED_LISTENERS", ""))
    if not advertised:
        problems.append("kafka: KAFKA_ADVERTISED_LISTENERS is not set")
    for name, (host, port) in advertised.items():
        if name in controller_names:
            problems.append(f"kafka: the controller listener {name} is advertised to clients")
        elif listeners.get(name, (None, None))[1] != port:
            problems.append(f"kafka: advertised {name} port {port} is not the port the listener binds")
    if len(voters) == 1 and env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") != "1":
        problems.append("kafka: a single node needs KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 (consumer groups)")
    return problems


def check_kafka_bootstrap(d: Deployment) -> Problems:
    problems = []
    kafka = services(d).get("kafka") or {}
    advertised = {
        (host, port) for name, (host, port) in _listeners(resolved_env(kafka).get("KAFKA_ADVERTISED_LISTENERS", "")).items()
        if host in names_of(d, "kafka")
    }
    for name in GRPC_SERVICES:
        var = env_var(d.settings[name], "kafka_bootstrap_servers")
        value = resolved_env(services(d).get(name) or {}).get(var, "")
        servers = [host_port(s.strip()) for s in value.split(",") if s.strip()]
        if not servers or not set(servers) <= advertised:
            problems.append(f"{name}: {var}={value!r} is not the kafka service's advertised listener {sorted(advertised)}")
    return problems


def check_postgres(d: Deployment) -> Problems:
    problems = []
    pg = services(d).get("postgres")
    if pg is None:
        return ["no postgres service"]
    if not str(pg.get("image", "")).startswith("postgres:16"):
        problems.append(f"postgres: image {pg.get('image')!r} is not postgres:16")
    try:
        interpolate(raw_env(pg).get("POSTGRES_PASSWORD"), {})
        problems.append("postgres: POSTGRES_PASSWORD must be required (${POSTGRES_PASSWORD:?...}), not defaulted")
    except MissingVariable:
        pass
    mounted = [target for source, target in volume_mounts(pg)
               if source.startswith((".", "/")) and (_ROOT / source).resolve() == INIT_SQL_PATH]
    if not any(t.startswith("/docker-entrypoint-initdb.d/") and t.endswith(".sql") for t in mounted):
        problems.append("postgres: deploy/postgres-init.sql is not mounted as /docker-entrypoint-initdb.d/*.sql")
    if not created_databases(d.init_sql):
        problems.append("deploy/postgres-init.sql creates no database")
    return problems


def check_database_urls(d: Deployment) -> Problems:
    problems = []
    pg_env = resolved_env(services(d).get("postgres") or {})
    databases = created_databases(d.init_sql)
    used = {}
    for name in GRPC_SERVICES:
        var = env_var(d.settings[name], "database_url")
        value = resolved_env(services(d).get(name) or {}).get(var)
        if not value:
            problems.append(f"{name}: {var} is not set")
            continue
        url = make_url(value)
        if url.drivername != "postgresql+asyncpg":
            problems.append(f"{name}: {var} uses {url.drivername!r}, not postgresql+asyncpg")
        if url.host not in names_of(d, "postgres"):
            problems.append(f"{name}: {var} host {url.host!r} is not the postgres service")
        if url.port not in (None, 5432):
            problems.append(f"{name}: {var} port {url.port} is not PostgreSQL's 5432")
        if url.database not in databases:
            problems.append(f"{name}: {var} database {url.database!r} is not created by deploy/postgres-init.sql "
                            f"({sorted(databases)})")
        if url.username != pg_env.get("POSTGRES_USER", "postgres") or url.password != pg_env.get("POSTGRES_PASSWORD"):
            problems.append(f"{name}: {var} does not use the postgres service's user and ${{POSTGRES_PASSWORD}}")
        if url.database in used:
            problems.append(f"{name}: {var} shares database {url.database!r} with {used[url.database]}")
        used.setdefault(url.database, name)
    return problems


def check_grpc_listen_and_gateway(d: Deployment) -> Problems:
    problems = []
    gateway_env = resolved_env(services(d).get("gateway") or {})
    for name in GRPC_SERVICES:
        svc = services(d).get(name) or {}
        var = env_var(d.settings[name], "grpc_listen")
        value = resolved_env(svc).get(var)
        if not value:
            problems.append(f"{name}: {var} is not set")
            continue
        host, port = host_port(value)
        if host not in ANY_ADDRESS:
            problems.append(f"{name}: {var}={value!r} does not bind 0.0.0.0 (unreachable from other containers)")
        addr_var = env_var(d.settings["gateway"], f"{name}_addr")
        addr = gateway_env.get(addr_var, "")
        if not addr or addr.rpartition(":")[0] not in names_of(d, name) or host_port(addr)[1] != port:
            problems.append(f"gateway: {addr_var}={addr!r} does not point at {name}:{port}")
        if not any(pub is not None and target == port for pub, target in published_ports(svc)):
            problems.append(f"{name}: gRPC port {port} is not published")
    return problems


def check_pii_keys(d: Deployment) -> Problems:
    problems = []
    for name in GRPC_SERVICES:
        raw = raw_env(services(d).get(name) or {})
        for field in ("pii_key", "lookup_key"):
            var = env_var(d.settings[name], field)
            value = raw.get(var)
            if value is None:
                problems.append(f"{name}: {var} is not set")
                continue
            try:
                interpolate(value, {})
                problems.append(f"{name}: {var} has a value or default in the file; it must be "
                                f"${{{var}:?...}} so nobody deploys a default key")
                continue
            except MissingVariable:
                pass
            try:
                shared = interpolate(value, DEPLOY_ENV) == DEPLOY_ENV[var]
            except MissingVariable:
                shared = False
            if not shared:
                problems.append(f"{name}: {var} is not taken from ${{{var}}}: the services must share one key")
    return problems


def check_bank(d: Deployment) -> Problems:
    problems = []
    bank = services(d).get("bank") or {}
    bank_env = resolved_env(bank)
    settings = d.settings["bank"]
    if bank_env.get(env_var(settings, "host")) not in ANY_ADDRESS:
        problems.append("bank: does not listen on 0.0.0.0")
    bank_port = bank_env.get(env_var(settings, "port"), str(settings.model_fields["port"].default))
    db_path = bank_env.get(env_var(settings, "database_path"), "")
    if not any(db_path.startswith(target.rstrip("/") + "/") for _, target in volume_mounts(bank)):
        problems.append(f"bank: {env_var(settings, 'database_path')}={db_path!r} is not on a volume")
    var = env_var(d.settings["ledger"], "bank_url")
    value = resolved_env(services(d).get("ledger") or {}).get(var, "")
    url = urlsplit(value)
    if url.scheme != "http" or url.hostname not in names_of(d, "bank") or str(url.port) != bank_port:
        problems.append(f"ledger: {var}={value!r} does not point at the bank service's port {bank_port}")
    return problems


def check_gateway(d: Deployment) -> Problems:
    problems = []
    gw = services(d).get("gateway") or {}
    env = resolved_env(gw)
    settings = d.settings["gateway"]
    if env.get(env_var(settings, "host")) not in ANY_ADDRESS:
        problems.append("gateway: does not listen on 0.0.0.0")
    port = int(env.get(env_var(settings, "port"), settings.model_fields["port"].default))
    if not any(pub is not None and target == port for pub, target in published_ports(gw)):
        problems.append(f"gateway: port {port} is not published")
    return problems


def check_depends_on(d: Deployment) -> Problems:
    problems = []
    for name, svc in services(d).items():
        for dep, spec in depends_on(svc).items():
            if dep not in services(d):
                problems.append(f"{name}: depends on {dep!r}, which is not a service")
            elif spec.get("condition") == "service_healthy" and healthcheck_command(services(d)[dep]) is None:
                problems.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
    wanted = {**{n: ("kafka", "postgres") for n in GRPC_SERVICES}, "gateway": GRPC_SERVICES}
    wanted["ledger"] = ("kafka", "postgres", "bank")
    for name, deps in wanted.items():
        have = depends_on(services(d).get(name) or {})
        for dep in deps:
            if have.get(dep, {}).get("condition") != "service_healthy":
                problems.append(f"{name}: must depend on {dep} with condition service_healthy")
    return problems


def check_healthchecks(d: Deployment) -> Problems:
    problems = []
    expect: dict[str, tuple[str, ...]] = {
        "postgres": ("pg_isready",),
        "kafka": ("kafka-topics.sh", "--list", "localhost:9092"),
    }
    for name in GRPC_SERVICES:
        value = resolved_env(services(d).get(name) or {}).get(env_var(d.settings[name], "grpc_listen"), ":0")
        expect[name] = ("python -c", "grpc_health", f":{host_port(value)[1]}'")
    gw_env = resolved_env(services(d).get("gateway") or {})
    expect["gateway"] = ("python -c", "urllib", f":{gw_env.get('GATEWAY_PORT')}/healthz")
    bank_env = resolved_env(services(d).get("bank") or {})
    expect["bank"] = ("python -c", "urllib", f":{bank_env.get('BANK_SIM_PORT')}/healthz")
    for name, fragments in expect.items():
        command = healthcheck_command(services(d).get(name) or {})
        if command is None:
            problems.append(f"{name}: no healthcheck")
            continue
        missing = [f for f in fragments if f not in command]
        if missing:
            problems.append(f"{name}: healthcheck {command!r} lacks {missing}")
    return problems


def check_settings_fields(d: Deployment) -> Problems:
    """Every variable the deployment sets is read by the process; every one it must set is."""
    problems = []
    for name in SKILLPAY_SERVICES:
        cls = d.settings[name]
        env = raw_env(services(d).get(name) or {})
        for var in sorted(set(env) - accepted_env(cls)):
            problems.append(f"{name}: {var} is not a setting of {cls.__name__} (typo or renamed setting?)")
        for field in REQUIRED_FIELDS[name]:
            if field not in cls.model_fields:
                problems.append(f"{name}: {cls.__name__} has no field {field!r}; update the deployment")
            elif not env_vars_of_field(cls, field) & set(env):
                problems.append(f"{name}: {env_var(cls, field)} ({cls.__name__}.{field}) is not set")
    return problems


def check_commands(d: Deployment) -> Problems:
    problems = []
    if set(MODULES) != set(SKILLPAY_SERVICES):
        problems.append(f"`skillpay serve` knows {sorted(MODULES)}, the deployment runs {sorted(SKILLPAY_SERVICES)}")
    for name in SKILLPAY_SERVICES:
        argv = effective_argv(services(d).get(name) or {}, d.dockerfile)
        if argv != ["skillpay", "serve", name]:
            problems.append(f"{name}: runs {argv}, not ['skillpay', 'serve', {name!r}]")
    return problems


def check_dockerfile(d: Deployment) -> Problems:
    problems = []
    instructions = dockerfile_instructions(d.dockerfile)
    froms = [args.split()[0] for instr, args in instructions if instr == "FROM"]
    if not froms or froms[-1] != "python:3.11-slim":
        problems.append(f"Dockerfile: the image is not based on python:3.11-slim ({froms})")
    runs = " ".join(args for instr, args in instructions if instr == "RUN")
    if not re.search(r"\bpip install (\S+ )*\.(\s|$)", runs + " "):
        problems.append("Dockerfile: does not `pip install .` the project")
    users = [args for instr, args in final_stage(d.dockerfile) if instr == "USER"]
    if not users:
        problems.append("Dockerfile: no USER, the processes would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        problems.append("Dockerfile: the last USER is root")
    return problems


def check_dockerignore(d: Deployment) -> Problems:
    patterns = {line.strip().rstrip("/") for line in d.dockerignore.splitlines() if line.strip()}
    wanted = [".git", "var", ".venv*", "**/__pycache__", ".pytest_cache", ".hypothesis", ".env"]
    return [f".dockerignore: does not exclude {p}" for p in wanted if p not in patterns]


CHECKS: list[Callable[[Deployment], Problems]] = [
    check_services_present, check_image_or_build, check_kafka, check_kafka_bootstrap, check_postgres,
    check_database_urls, check_grpc_listen_and_gateway, check_pii_keys, check_bank, check_gateway,
    check_depends_on, check_healthchecks, check_settings_fields, check_commands, check_dockerfile,
    check_dockerignore,
]


# -- the real files ---------------------------------------------------------------------------
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_deployment_is_coherent(deployment: Deployment, check) -> None:
    assert check(deployment) == []


def test_the_files_exist() -> None:
    for path in (COMPOSE_PATH, DOCKERFILE_PATH, DOCKERIGNORE_PATH, INIT_SQL_PATH):
        assert path.is_file(), path


def test_init_script_creates_one_database_per_service(deployment: Deployment) -> None:
    assert created_databases(deployment.init_sql) == {"voucher", "claim", "ledger"}


def test_compose_needs_the_secrets_from_the_operator(deployment: Deployment) -> None:
    """Without POSTGRES_PASSWORD and the two keys in the environment, compose refuses to start."""
    for name in ("postgres", *GRPC_SERVICES):
        for var, value in raw_env(services(deployment)[name]).items():
            needs = {v for v in DEPLOY_ENV if re.search(r"\$\{" + v + r"\b", value or "")}
            for missing in needs:
                env = {k: v for k, v in DEPLOY_ENV.items() if k != missing}
                with pytest.raises(MissingVariable):
                    interpolate(value, env)


# -- the helpers themselves -------------------------------------------------------------------
def test_interpolate() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("x${A}y$A$$", env) == "x1y1$"
    assert interpolate("${B:-d}|${EMPTY:-d}|${EMPTY-d}|${B-d}", env) == "d|d||d"
    assert interpolate("${A:?no}", env) == "1"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?no}", env)
    with pytest.raises(MissingVariable):
        interpolate("${B?no}", env)


def test_compose_syntax_helpers() -> None:
    assert published_ports({"ports": ["8080:8080", "127.0.0.1:9000:90/tcp", "7000", "50051-50052:50051-50052",
                                      {"target": 1, "published": "2"}]}) == {
        (8080, 8080), (9000, 90), (None, 7000), (50051, 50051), (50052, 50052), (2, 1)}
    assert raw_env({"environment": ["A=1", "B", "C=x=y"]}) == {"A": "1", "B": None, "C": "x=y"}
    assert depends_on({"depends_on": ["a"]}) == {"a": {"condition": "service_started"}}
    assert healthcheck_command({"healthcheck": {"test": ["CMD", "a", "b"]}}) == "a b"
    assert healthcheck_command({"healthcheck": {"test": ["NONE"]}}) is None
    assert volume_mounts({"volumes": ["data:/data", {"type": "bind", "source": "./x", "target": "/y"}]}) == [
        ("data", "/data"), ("./x", "/y")]
    assert created_databases('-- CREATE DATABASE nope;\nCREATE DATABASE Voucher; create database "Claim";') == {
        "voucher", "Claim"}


def test_dockerfile_helpers() -> None:
    text = 'FROM python:3.11-slim AS b\nCMD ["x"]\nFROM python:3.11-slim\n# c\nENTRYPOINT ["skillpay"]\nCMD serve \\\n  gateway\n'
    assert image_entrypoint_and_cmd(text) == (["skillpay"], ["/bin/sh", "-c", "serve gateway"])
    assert effective_argv({"command": ["serve", "bank"]}, text) == ["skillpay", "serve", "bank"]
    assert effective_argv({"entrypoint": "a b"}, text) == ["a", "b"]


def test_env_var_follows_the_settings_classes() -> None:
    assert env_var(VoucherSettings, "grpc_listen") == "VOUCHER_GRPC_LISTEN"
    assert env_var(LedgerSettings, "kafka_bootstrap_servers") == "KAFKA_BOOTSTRAP_SERVERS"
    assert env_var(GatewaySettings, "ledger_addr") == "GATEWAY_LEDGER_ADDR"
    assert env_var(BankSimSettings, "database_path") == "BANK_SIM_DATABASE_PATH"
    with pytest.raises(KeyError):
        env_var(ClaimSettings, "bank_url")


# -- broken copies: every check reports what is wrong -----------------------------------------
class RenamedVoucherSettings(BaseSettings):
    """As if someone renamed VoucherSettings.grpc_listen and moved the keys under the prefix."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_", extra="ignore")
    kafka_bootstrap_servers: str = ""
    data_dir: str = ""
    pii_key: str = ""
    lookup_key: str = ""
    grpc_address: str = ""
    database_url: str = ""


def _env(name, var, value=None, delete=False):
    def fn(d: Deployment):
        env = d.compose["services"][name]["environment"]
        if delete:
            env.pop(var)
        else:
            env[var] = value
    return fn


def _kafka_env(var, value):
    return _env("kafka", var, value)


def _set(name, key, value):
    def fn(d: Deployment):
        d.compose["services"][name][key] = value
    return fn


def _drop(name, key):
    def fn(d: Deployment):
        d.compose["services"][name].pop(key, None)
    return fn


def _rename_env(name, old, new):
    def fn(d: Deployment):
        env = d.compose["services"][name]["environment"]
        env[new] = env.pop(old)
    return fn


def _dep(name, dep, spec):
    def fn(d: Deployment):
        d.compose["services"][name].setdefault("depends_on", {})[dep] = spec
    return fn


def _file(attr, fn):
    def edit(d: Deployment):
        return dataclasses.replace(d, **{attr: fn(getattr(d, attr))})
    return edit


def _settings(name, cls):
    def edit(d: Deployment):
        return dataclasses.replace(d, settings={**d.settings, name: cls})
    return edit


def _remove_postgres_init_mount(d: Deployment):
    pg = d.compose["services"]["postgres"]
    pg["volumes"] = [v for v in pg["volumes"] if "initdb" not in str(v)]


BROKEN = [
    ("no bank service", lambda d: d.compose["services"].pop("bank"), check_services_present, "'bank' is missing"),
    ("postgres without image", _drop("postgres", "image"), check_image_or_build, "postgres: neither image nor build"),
    ("claim from another Dockerfile", _set("claim", "build", {"context": ".", "dockerfile": "Other.Dockerfile"}),
     check_image_or_build, "claim: not built from"),
    ("confluent kafka", _set("kafka", "image", "confluentinc/cp-kafka:7.6.0"), check_kafka, "not an official apache/kafka"),
    ("kafka without controller role", _kafka_env("KAFKA_PROCESS_ROLES", "broker"), check_kafka, "lacks broker or controller"),
    ("kafka with zookeeper", _kafka_env("KAFKA_ZOOKEEPER_CONNECT", "zk:2181"), check_kafka, "zookeeper"),
    ("quorum voter on the broker port", _kafka_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@kafka:9092"), check_kafka,
     "quorum voter"),
    ("quorum without this node", _kafka_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "2@kafka:9093"), check_kafka,
     "does not contain this node"),
    ("kafka advertises the wrong port", _kafka_env("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:29092"),
     check_kafka, "advertised PLAINTEXT port"),
    ("offsets topic replicated 3 times", _kafka_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "3"), check_kafka,
     "REPLICATION_FACTOR=1"),
    ("voucher bootstraps from localhost", _env("voucher", "KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
     check_kafka_bootstrap, "voucher: KAFKA_BOOTSTRAP_SERVERS"),
    ("kafka advertises localhost", _kafka_env("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://localhost:9092"),
     check_kafka_bootstrap, "advertised listener"),
    ("ledger without kafka", _env("ledger", "KAFKA_BOOTSTRAP_SERVERS", delete=True), check_kafka_bootstrap,
     "ledger: KAFKA_BOOTSTRAP_SERVERS=''"),
    ("postgres 15", _set("postgres", "image", "postgres:15"), check_postgres, "not postgres:16"),
    ("default postgres password", _env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-postgres}"),
     check_postgres, "must be required"),
    ("init script not mounted", _remove_postgres_init_mount, check_postgres, "is not mounted"),
    ("claim with plain postgresql driver",
     _env("claim", "CLAIM_DATABASE_URL", "postgresql://postgres:${POSTGRES_PASSWORD}@postgres:5432/claim"),
     check_database_urls, "not postgresql+asyncpg"),
    ("ledger database on another host",
     _env("ledger", "LEDGER_DATABASE_URL", "postgresql+asyncpg://postgres:${POSTGRES_PASSWORD}@db:5432/ledger"),
     check_database_urls, "is not the postgres service"),
    ("voucher database never created",
     _env("voucher", "VOUCHER_DATABASE_URL", "postgresql+asyncpg://postgres:${POSTGRES_PASSWORD}@postgres:5432/vouchers"),
     check_database_urls, "'vouchers' is not created"),
    ("init script forgets ledger", _file("init_sql", lambda s: s.replace("CREATE DATABASE ledger;", "")),
     check_database_urls, "'ledger' is not created"),
    ("hard-coded database password",
     _env("claim", "CLAIM_DATABASE_URL", "postgresql+asyncpg://postgres:secret@postgres:5432/claim"),
     check_database_urls, "POSTGRES_PASSWORD"),
    ("two services share a database",
     _env("claim", "CLAIM_DATABASE_URL", "postgresql+asyncpg://postgres:${POSTGRES_PASSWORD}@postgres:5432/voucher"),
     check_database_urls, "shares database 'voucher'"),
    ("voucher without database", _env("voucher", "VOUCHER_DATABASE_URL", delete=True), check_database_urls,
     "VOUCHER_DATABASE_URL is not set"),
    ("claim listens on loopback", _env("claim", "CLAIM_GRPC_LISTEN", "127.0.0.1:50052"),
     check_grpc_listen_and_gateway, "does not bind 0.0.0.0"),
    ("gateway points at the wrong ledger port", _env("gateway", "GATEWAY_LEDGER_ADDR", "ledger:50054"),
     check_grpc_listen_and_gateway, "GATEWAY_LEDGER_ADDR='ledger:50054'"),
    ("gateway points at localhost", _env("gateway", "GATEWAY_VOUCHER_ADDR", "127.0.0.1:50051"),
     check_grpc_listen_and_gateway, "GATEWAY_VOUCHER_ADDR"),
    ("voucher port not published", _drop("voucher", "ports"), check_grpc_listen_and_gateway,
     "voucher: gRPC port 50051 is not published"),
    ("default PII key", _env("ledger", "SKILLPAY_PII_KEY", "${SKILLPAY_PII_KEY:-" + "A" * 43 + "=}"), check_pii_keys,
     "ledger: SKILLPAY_PII_KEY has a value or default"),
    ("literal lookup key", _env("voucher", "SKILLPAY_LOOKUP_KEY", "A" * 43 + "="), check_pii_keys,
     "voucher: SKILLPAY_LOOKUP_KEY has a value"),
    ("claim has a key of its own", _env("claim", "SKILLPAY_PII_KEY", "${CLAIM_PII_KEY:?set it}"), check_pii_keys,
     "must share one key"),
    ("no lookup key", _env("claim", "SKILLPAY_LOOKUP_KEY", delete=True), check_pii_keys,
     "claim: SKILLPAY_LOOKUP_KEY is not set"),
    ("ledger pays into the wrong port", _env("ledger", "LEDGER_BANK_URL", "http://bank:9999"), check_bank,
     "LEDGER_BANK_URL='http://bank:9999'"),
    ("ledger pays into localhost", _env("ledger", "LEDGER_BANK_URL", "http://127.0.0.1:8070"), check_bank,
     "LEDGER_BANK_URL"),
    ("bank on loopback", _env("bank", "BANK_SIM_HOST", "127.0.0.1"), check_bank, "bank: does not listen on 0.0.0.0"),
    ("bank database off the volume", _env("bank", "BANK_SIM_DATABASE_PATH", "/tmp/bank.sqlite3"), check_bank,
     "is not on a volume"),
    ("gateway not published", _drop("gateway", "ports"), check_gateway, "gateway: port 8080 is not published"),
    ("gateway on loopback", _env("gateway", "GATEWAY_HOST", "127.0.0.1"), check_gateway, "does not listen on 0.0.0.0"),
    ("dependency on a missing service", _dep("gateway", "redis", {"condition": "service_started"}), check_depends_on,
     "'redis', which is not a service"),
    ("voucher starts before kafka is healthy", _dep("voucher", "kafka", {"condition": "service_started"}),
     check_depends_on, "voucher: must depend on kafka"),
    ("claim does not wait for postgres",
     lambda d: d.compose["services"]["claim"]["depends_on"].pop("postgres"), check_depends_on,
     "claim: must depend on postgres"),
    ("waits for a service without healthcheck", _drop("bank", "healthcheck"), check_depends_on,
     "bank has no healthcheck"),
    ("kafka without healthcheck", _drop("kafka", "healthcheck"), check_healthchecks, "kafka: no healthcheck"),
    ("claim healthcheck probes voucher's port",
     _set("claim", "healthcheck", {"test": ["CMD", "python", "-c", "import grpc_health; '127.0.0.1:50051'"]}),
     check_healthchecks, "claim: healthcheck"),
    ("postgres healthcheck without pg_isready", _set("postgres", "healthcheck", {"test": "true"}), check_healthchecks,
     "pg_isready"),
    ("healthcheck disabled", _set("gateway", "healthcheck", {"disable": True}), check_healthchecks,
     "gateway: no healthcheck"),
    ("typo in a variable name", _rename_env("voucher", "VOUCHER_GRPC_LISTEN", "VOUCHER_GRPC_LISTENER"),
     check_settings_fields, "VOUCHER_GRPC_LISTENER is not a setting of VoucherSettings"),
    ("prefixed shared variable", _rename_env("claim", "KAFKA_BOOTSTRAP_SERVERS", "CLAIM_KAFKA_BOOTSTRAP_SERVERS"),
     check_settings_fields, "CLAIM_KAFKA_BOOTSTRAP_SERVERS is not a setting"),
    ("bank setting misses the prefix", _rename_env("bank", "BANK_SIM_PORT", "BANK_PORT"), check_settings_fields,
     "BANK_PORT is not a setting of BankSimSettings"),
    ("setting renamed in the code", _settings("voucher", RenamedVoucherSettings), check_settings_fields,
     "has no field 'grpc_listen'"),
    ("required setting missing", _env("gateway", "GATEWAY_CLAIM_ADDR", delete=True), check_settings_fields,
     "GATEWAY_CLAIM_ADDR (GatewaySettings.claim_addr) is not set"),
    ("claim runs the voucher service", _set("claim", "command", ["skillpay", "serve", "voucher"]), check_commands,
     "claim: runs ['skillpay', 'serve', 'voucher']"),
    ("ledger falls back to the image's command", _drop("ledger", "command"), check_commands, "ledger: runs"),
    ("entrypoint overrides the command", _set("bank", "entrypoint", "python -m bank_sim"), check_commands, "bank: runs"),
    ("image based on 3.12", _file("dockerfile", lambda s: s.replace("python:3.11-slim", "python:3.12-slim")),
     check_dockerfile, "python:3.11-slim"),
    ("Dockerfile runs as root", _file("dockerfile", lambda s: re.sub(r"(?m)^USER .*$", "USER root", s)),
     check_dockerfile, "the last USER is root"),
    ("Dockerfile without USER", _file("dockerfile", lambda s: re.sub(r"(?m)^USER .*$", "", s)), check_dockerfile,
     "no USER"),
    ("Dockerfile does not install the project", _file("dockerfile", lambda s: s.replace("install .", "install -r x")),
     check_dockerfile, "pip install ."),
    ("build context includes .git", _file("dockerignore", lambda s: re.sub(r"(?m)^\.git$", "", s)), check_dockerignore,
     "does not exclude .git"),
    ("build context includes .env", _file("dockerignore", lambda s: re.sub(r"(?m)^\.env$", "", s)), check_dockerignore,
     "does not exclude .env"),
]


@pytest.mark.parametrize(("mutate", "check", "expected"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_copy_is_reported(deployment: Deployment, mutate, check, expected: str) -> None:
    broken = dataclasses.replace(deployment, compose=copy.deepcopy(deployment.compose))
    result = mutate(broken)
    if isinstance(result, Deployment):
        broken = result
    assert check(deployment) == [], "the real deployment must pass this check"
    problems = check(broken)
    assert any(expected in p for p in problems), problems


def test_every_check_is_exercised_by_a_broken_copy() -> None:
    exercised = {case[2] for case in BROKEN}
    assert [c.__name__ for c in CHECKS if c not in exercised] == []
