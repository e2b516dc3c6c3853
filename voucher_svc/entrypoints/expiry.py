"""V5: the voucher process expires what is due by itself, every VOUCHER_EXPIRY_SWEEP_INTERVAL_S.

An entrypoint like the gRPC servicer: the passing of time becomes an ``ExpireDueVouchers``
command for the bus, acting as the voucher service, with the time from the injected clock. Every
replica runs one; the handler's locking lets them share the work and expire nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from skillpay.actors import service_actor
from skillpay.clock import Clock
from skillpay.messagebus import MessageBus
from voucher_svc.service_layer import commands

log = logging.getLogger(__name__)


class ExpirySweeper:
    def __init__(self, bus: MessageBus, clock: Clock, interval_s: float, chunk: int,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self._bus = bus
        self._clock = clock
        self._interval_s = interval_s
        self._chunk = chunk
        self._sleep = sleep
        self.sweeps = 0

    async def sweep_once(self) -> int:
        now = self._clock.now()
        actor = service_actor("voucher").for_request(f"expiry-sweep:{now.isoformat()}")
        return await self._bus.handle(commands.ExpireDueVouchers(actor=actor, now=now, limit=self._chunk))

    async def run(self) -> None:
        """Until cancelled. A failed sweep (the database away for a moment) is logged and tried again
        at the next tick: a background worker that stops would stop the process."""
        while True:
            try:
                expired = await self.sweep_once()
                if expired:
                    log.info("expiry sweep: %d voucher(s) expired (V5)", expired)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried next tick; never the end of the process
                log.warning("expiry sweep failed (%s); trying again in %.0f s", type(exc).__name__, self._interval_s)
            self.sweeps += 1
            await self._sleep(self._interval_s)
