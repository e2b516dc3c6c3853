"""The committed protobuf code must be exactly what ``python -m skillpay.cli.codegen`` produces now."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillpay.cli.codegen import REPO_ROOT, generate, proto_files

pytestmark = pytest.mark.unit


# Read-only calls without a Get/List name, and CreateTransfers, idempotent by each transfer's own id
# (a request id would need a transaction per call, which group commit exists to avoid).
_NO_REQUEST_ID = {"skillpay.ledger.v1.LedgerService.CreateTransfers", "skillpay.ledger.v1.LedgerService.LookupAccounts",
                  "skillpay.ledger.v1.LedgerService.VerifyLedger"}


def test_generated_code_is_fresh(tmp_path: Path):
    written = generate(out_dir=tmp_path)
    assert written, "no proto files found"
    stale = []
    for fresh in written:
        rel = fresh.relative_to(tmp_path)
        committed = REPO_ROOT / rel
        if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
            stale.append(str(rel))
    assert not stale, f"generated code is stale; run `python -m skillpay.cli.codegen`: {stale}"


def test_every_proto_package_is_versioned_and_enums_have_unspecified_zero():
    from google.protobuf import descriptor_pool

    import skillpay.claim.v1.claim_pb2  # noqa: F401 - registers the descriptors
    import skillpay.events.v1.events_pb2  # noqa: F401
    import skillpay.ledger.v1.ledger_pb2  # noqa: F401
    import skillpay.voucher.v1.voucher_pb2  # noqa: F401

    pool = descriptor_pool.Default()
    for path in proto_files():
        rel = path.relative_to(REPO_ROOT / "proto").as_posix()
        fd = pool.FindFileByName(rel)
        assert fd.package.startswith("skillpay.") and fd.package.endswith(".v1"), fd.package
        for enum in fd.enum_types_by_name.values():
            zero = enum.values_by_number[0].name
            assert zero.endswith("_UNSPECIFIED"), f"{enum.full_name}: zero value {zero}"
        for message in fd.message_types_by_name.values():
            for field in message.fields:
                if field.name.endswith("_fen"):
                    assert field.type == field.TYPE_INT64, f"{message.full_name}.{field.name} must be int64"
                if field.name.endswith("_at") or field.name == "valid_until":
                    assert field.message_type and field.message_type.full_name == "google.protobuf.Timestamp"
        for service in fd.services_by_name.values():
            for method in service.methods:
                if method.name.startswith("List"):
                    names = {f.name for f in method.input_type.fields}
                    assert {"page_size", "page_token"} <= names, method.full_name
                    assert "next_page_token" in {f.name for f in method.output_type.fields}
                elif not method.name.startswith("Get") and method.full_name not in _NO_REQUEST_ID:
                    assert "request_id" in {f.name for f in method.input_type.fields}, method.full_name
