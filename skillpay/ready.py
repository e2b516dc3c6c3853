"""Ready files: a process told to listen on port 0 says which port it got.

Every SkillPay process (the gRPC services, the gateway, the bank simulator) writes its bound
address ``host:port`` to the file named by ``SKILLPAY_READY_FILE`` once it accepts connections.
A parent that picks ports ahead of time races other processes for them; one that reads the
file after start-up does not (``skillpay.cli.stack`` does this).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

READY_FILE_ENV = "SKILLPAY_READY_FILE"
log = logging.getLogger(__name__)


def announce(address: str, path: str | os.PathLike | None = None) -> None:
    """Write ``address`` to the ready file, if one is configured; all or nothing (tmp + rename)."""
    path = path or os.environ.get(READY_FILE_ENV)
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(address + "\n")
    os.replace(tmp, path)


def companion(kind: str) -> Path | None:
    """The ready file for another listener of this process (``voucher.addr`` → ``voucher.metrics.addr``)."""
    path = os.environ.get(READY_FILE_ENV)
    if not path:
        return None
    path = Path(path)
    return path.with_name(f"{path.stem}.{kind}{path.suffix}")


def read_port(path: Path) -> int | None:
    """The port in a ready file, or None while there is none."""
    try:
        return int(path.read_text().strip().rsplit(":", 1)[1])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def run_uvicorn(app, host: str, port: int, name: str, **kwargs) -> None:
    """``uvicorn.run`` that logs and announces the address it actually bound (port 0 allowed)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:  # False when binding failed (uvicorn has exited by then)
                bound_host, bound_port = self.servers[0].sockets[0].getsockname()[:2]
                address = f"[{bound_host}]:{bound_port}" if ":" in bound_host else f"{bound_host}:{bound_port}"
                log.info("%s listening on http://%s", name, address)
                announce(address)

    Server(uvicorn.Config(app, host=host, port=port, **kwargs)).run()
