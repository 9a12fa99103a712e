"""Regenerates the Python stubs in clients/python/agentos from protos/.

python scripts/generate.py           write the stubs
python scripts/generate.py --check   fail (exit 1) when the committed stubs differ from a fresh run
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_ROOT = ROOT / "clients" / "python"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for proto in files:
        package_dir = out_dir / Path(proto).parent
        while package_dir != out_dir:
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent


def generated_files(root: Path) -> dict[str, Path]:
    found = {}
    for path in (root / "agentos").rglob("*"):
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
            found[str(path.relative_to(root))] = path
    return found


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root)
        fresh = generated_files(fresh_root)
        committed = generated_files(OUT_ROOT)
        problems = [f"missing: {name}" for name in sorted(fresh.keys() - committed.keys())]
        problems += [
            f"stale (no proto generates it): {name}" for name in sorted(committed.keys() - fresh.keys())
        ]
        problems += [
            f"differs: {name}"
            for name in sorted(fresh.keys() & committed.keys())
            if not filecmp.cmp(fresh[name], committed[name], shallow=False)
        ]
    if problems:
        print("Generated stubs are out of date; run `make generate`:", *problems, sep="\n  ")
        return 1
    print(f"stubs up to date ({len(committed)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    if parser.parse_args().check:
        return check()
    for stale in generated_files(OUT_ROOT).values():
        stale.unlink()
    generate(OUT_ROOT)
    print(f"generated {len(generated_files(OUT_ROOT))} files under {OUT_ROOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
