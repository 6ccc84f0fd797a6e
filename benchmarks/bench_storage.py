"""Storage transfer throughput: files of mixed sizes uploaded to a local S3 server (moto's,
in its own process) and downloaded back, through ``hoist.storage`` against the same
transfer with s3fs alone (``S3FileSystem.put``/``get`` of the folder), in one run,
alternating, best of ``--repeat``.

The mix: half the bytes in 64 MiB files, a quarter in 4 MiB files, a quarter in 64 KiB
files. Target (issue 16): hoist >= 0.8x s3fs's throughput.

    .venv/bin/python benchmarks/bench_storage.py                 # 1 GiB
    .venv/bin/python benchmarks/bench_storage.py --size-mb 256
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
MIX = ((64 * MIB, 0.5), (4 * MIB, 0.25), (64 * 1024, 0.25))  # (file size, share of bytes)


def make_files(root: Path, total: int) -> int:
    """Write the mix under ``root`` (random bytes, two folder levels); bytes written."""
    written = 0
    block = os.urandom(64 * MIB)
    for size, share in MIX:
        count = max(1, round(total * share / size))
        for i in range(count):
            path = root / f"s{size}" / f"{i % 16:02d}" / f"f{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            start = (i * 4099) % (len(block) - size + 1)
            path.write_bytes(block[start : start + size])
            written += size
    return written


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="bytes to move (MiB)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best is kept")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    sys.path.insert(0, str(REPO))
    from _util import report  # type: ignore[import-not-found]
    from tests.storage.servers import start_moto

    from hoist.storage import LocationConfig, StorageConfig, open_location

    work = Path(tempfile.mkdtemp(prefix="hoist-bench-storage-"))
    server = start_moto(auth=False)
    try:
        server.make_bucket("bench")
        total = make_files(work / "src", args.size_mb * MIB)
        config = StorageConfig(
            {"bench": LocationConfig("bench", "s3://bench", {"endpoint_url": server.endpoint})},
            environ={},
        )
        # The same credentials both sides: moto does not check them here.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", server.key)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", server.secret)
        location = open_location("bench", config=config)
        import s3fs

        plain = s3fs.S3FileSystem(endpoint_url=server.endpoint, skip_instance_cache=True)
        hoist = {"up": float("inf"), "down": float("inf")}
        base = {"up": float("inf"), "down": float("inf")}

        def hoist_round() -> None:
            shutil.rmtree(work / "h", ignore_errors=True)
            up = timed(lambda: location.upload(work / "src", "h"))
            down = timed(lambda: location.download("h", work / "h"))
            location.remove("h", recursive=True)
            hoist["up"], hoist["down"] = min(hoist["up"], up), min(hoist["down"], down)

        def plain_round() -> None:
            shutil.rmtree(work / "p", ignore_errors=True)
            up = timed(lambda: plain.put(str(work / "src") + "/", "bench/p/", recursive=True))
            down = timed(lambda: plain.get("bench/p/", str(work / "p") + "/", recursive=True))
            plain.rm("bench/p", recursive=True)
            base["up"], base["down"] = min(base["up"], up), min(base["down"], down)

        for i in range(args.repeat):  # alternate who goes first
            for round_ in (hoist_round, plain_round) if i % 2 == 0 else (plain_round, hoist_round):
                round_()
        sample = next((work / "src").rglob("*.bin")).relative_to(work / "src")
        assert (work / "h" / sample).read_bytes() == (work / "src" / sample).read_bytes()
        assert (work / "p" / sample).read_bytes() == (work / "src" / sample).read_bytes()
        mb = total / MIB
        rows = [("what", "hoist.storage", "s3fs alone", "ratio / target")]
        for way, label in (("up", "upload"), ("down", "download")):
            rows.append((
                f"{label} {mb:.0f} MiB, mixed sizes",
                f"{mb / hoist[way]:.0f} MiB/s",
                f"{mb / base[way]:.0f} MiB/s",
                f"{base[way] / hoist[way]:.2f}x / >= 0.8x",
            ))  # fmt: skip
        both_h, both_b = hoist["up"] + hoist["down"], base["up"] + base["down"]
        rows.append((
            f"round trip {mb:.0f} MiB", f"{2 * mb / both_h:.0f} MiB/s",
            f"{2 * mb / both_b:.0f} MiB/s", f"{both_b / both_h:.2f}x / >= 0.8x",
        ))  # fmt: skip
        report(rows)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
