"""``python -m skillpay.cli ...`` is the ``skillpay`` command."""

from skillpay.cli.main import app

app()
