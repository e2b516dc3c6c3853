"""Generate the Python protobuf and gRPC code (with .pyi stubs) from ``proto/``.

One command: ``python -m skillpay.cli.codegen`` (or ``skillpay codegen``). The output is committed;
``tests/unit/test_codegen_fresh.py`` fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "proto"


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(proto_root.rglob("*.proto"))


def generate(out_dir: Path = REPO_ROOT, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Run protoc into ``out_dir``; returns the files written."""
    import google.type  # googleapis-common-protos ships google/type/date.proto
    import grpc_tools
    from grpc_tools import protoc

    builtin_include = Path(grpc_tools.__file__).parent / "_proto"
    googleapis_include = Path(google.type.__path__[0]).parent.parent
    files = proto_files(proto_root)
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{builtin_include}",
        f"-I{googleapis_include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(f.relative_to(proto_root)) for f in files],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    written: list[Path] = []
    for f in files:
        package_dir = out_dir / f.relative_to(proto_root).parent
        # Each generated folder becomes a regular package so setuptools ships it.
        for parent in [package_dir, *package_dir.relative_to(out_dir).parents]:
            init = out_dir / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        stem = f.stem
        written += [package_dir / f"{stem}_pb2.py", package_dir / f"{stem}_pb2.pyi", package_dir / f"{stem}_pb2_grpc.py"]
    return written


def main() -> None:
    for path in generate():
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


if __name__ == "__main__":
    sys.exit(main())
