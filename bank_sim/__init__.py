"""Bank simulator: a separate process standing in for the bank that pays
subsidies to social security cards and by bank transfer.

Run it with ``python -m bank_sim``; see :mod:`bank_sim.app` for the HTTP
protocol and :mod:`bank_sim.settings` for its configuration.
"""

from bank_sim.app import build_app, main
from bank_sim.settings import BankSimSettings

__all__ = ["BankSimSettings", "build_app", "main"]
