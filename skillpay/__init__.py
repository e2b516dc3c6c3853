"""SkillPay's shared infrastructure: configuration, database, outbox/inbox, Kafka, gRPC bootstrap.

The subpackages ``skillpay.{voucher,claim,ledger,events}.v1`` are generated from ``proto/``
by ``python -m skillpay.cli.codegen``; do not edit them by hand.
"""
