"""Dataset conversion speed and memory: a generated YOLO dataset (N images, 10 boxes
each) converted YOLO -> COCO -> YOLO by ``hoist.datasets.convert`` (streaming, through
the internal model), against a plain standard-library script that reads and writes the
same files (labels, image headers for the sizes, one COCO JSON; then back). Images are
not copied by either side (``copy_images=False``): the figures are about annotations.

Also the peak traced memory (tracemalloc) of streaming a YOLO dataset's images
(read only, and YOLO -> VOC, both streaming formats) at N/10 and at N, after a warm-up
read (imports and parser caches): bounded memory means the peak does not grow with N.

Target (issue 15): Hoist >= 0.5x the plain script's speed.

    .venv/bin/python benchmarks/bench_datasets.py            # 10,000 images
    .venv/bin/python benchmarks/bench_datasets.py --images 100000   # the issue's size
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import tempfile
import time
import tracemalloc
from pathlib import Path

from _util import report  # type: ignore[import-not-found]

from hoist.datasets import convert, read_dataset
from hoist.datasets.imagesize import png_header

BOXES = 10


def make_yolo(root: Path, n: int, seed: int = 0) -> None:
    """N images (PNG headers) and label files with BOXES boxes each, two splits."""
    rng = random.Random(seed)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    for i in range(n):
        split = "train" if i % 5 else "val"
        w, h = rng.randint(320, 1920), rng.randint(240, 1080)
        (root / "images" / split / f"{i:07d}.png").write_bytes(png_header(w, h))
        lines = []
        for _ in range(BOXES):
            bw, bh = rng.uniform(0.01, 0.5), rng.uniform(0.01, 0.5)
            cx, cy = rng.uniform(bw / 2, 1 - bw / 2), rng.uniform(bh / 2, 1 - bh / 2)
            lines.append(f"{rng.randrange(8)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}\n")
        (root / "labels" / split / f"{i:07d}.txt").write_text("".join(lines))
    names = "\n".join(f"  {i}: c{i}" for i in range(8))
    (root / "data.yaml").write_text(
        f"path: .\ntrain: images/train\nval: images/val\nnc: 8\nnames:\n{names}\n"
    )


def plain_yolo_to_coco(src: Path, dest: Path) -> None:
    """The baseline: read labels and image headers, write one COCO JSON per split."""
    (dest / "annotations").mkdir(parents=True)
    cats = [{"id": i + 1, "name": f"c{i}"} for i in range(8)]
    image_id = ann_id = 0
    for split in ("train", "val"):
        images, anns = [], []
        idir, ldir = src / "images" / split, src / "labels" / split
        for name in sorted(os.listdir(idir)):
            with open(idir / name, "rb") as f:
                w, h = struct.unpack(">II", f.read(24)[16:24])
            image_id += 1
            images.append({"id": image_id, "file_name": name, "width": w, "height": h})
            with open(ldir / (name[:-4] + ".txt")) as f:
                for line in f:
                    c, cx, cy, bw, bh = line.split()
                    bw_, bh_ = float(bw) * w, float(bh) * h
                    x, y = float(cx) * w - bw_ / 2, float(cy) * h - bh_ / 2
                    ann_id += 1
                    anns.append({"id": ann_id, "image_id": image_id, "category_id": int(c) + 1,
                                 "bbox": [x, y, bw_, bh_], "area": bw_ * bh_, "iscrowd": 0,
                                 "segmentation": []})  # fmt: skip
        with open(dest / "annotations" / f"instances_{split}.json", "w") as f:
            json.dump({"categories": cats, "images": images, "annotations": anns}, f)


def plain_coco_to_yolo(src: Path, dest: Path) -> None:
    """The baseline back: read each COCO JSON, write a label file per image."""
    for file in sorted((src / "annotations").glob("*.json")):
        split = file.stem.removeprefix("instances_")
        (dest / "labels" / split).mkdir(parents=True)
        with open(file) as f:
            doc = json.load(f)
        by_image: dict[int, list[str]] = {im["id"]: [] for im in doc["images"]}
        sizes = {im["id"]: (im["width"], im["height"]) for im in doc["images"]}
        for a in doc["annotations"]:
            w, h = sizes[a["image_id"]]
            x, y, bw, bh = a["bbox"]
            by_image[a["image_id"]].append(
                f"{a['category_id'] - 1} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} "
                f"{bw / w:.6f} {bh / h:.6f}\n"
            )
        for im in doc["images"]:
            with open(dest / "labels" / split / (im["file_name"][:-4] + ".txt"), "w") as f:
                f.write("".join(by_image[im["id"]]))
    (dest / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\n")


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def peak_stream(root: Path, to_voc: Path | None) -> float:
    """Peak traced MiB while streaming the YOLO dataset (read, or convert to VOC)."""
    tracemalloc.start()
    if to_voc is None:
        for _ in read_dataset(root, "yolo").images:
            pass
    else:
        convert(root, to="voc", dest=to_voc, copy_images=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    n = args.images
    work = Path(tempfile.mkdtemp(prefix="hoist-bench-datasets-"))
    try:
        src = work / "yolo"
        make_yolo(src, n)
        hoist_s = timed(lambda: convert(src, to="coco", dest=work / "hc", copy_images=False))
        hoist_s += timed(lambda: convert(work / "hc", to="yolo", dest=work / "hy",
                                         copy_images=False))  # fmt: skip
        plain_s = timed(plain_yolo_to_coco, src, work / "pc")
        plain_s += timed(plain_coco_to_yolo, work / "pc", work / "py")
        # The two outputs agree (same label text).
        a = sorted((work / "hy" / "labels" / "val").iterdir())[0]
        assert a.read_text() == (work / "py" / "labels" / "val" / a.name).read_text()
        small = work / "yolo-small"
        make_yolo(small, max(n // 10, 1), seed=1)
        for warm_up in (small, src):  # first calls allocate caches (imports, parsers)
            peak_stream(warm_up, None)
        mem = {
            "read small": peak_stream(small, None), "read": peak_stream(src, None),
            "voc small": peak_stream(small, work / "v1"), "voc": peak_stream(src, work / "v2"),
        }  # fmt: skip
        rows = [
            ("what", "measured", "baseline", "ratio / target"),
            (f"YOLO->COCO->YOLO, {n} images / {n * BOXES} boxes", f"{hoist_s:.2f} s",
             f"{plain_s:.2f} s (stdlib script)", f"{plain_s / hoist_s:.2f}x speed / >= 0.5x"),
            (f"peak memory, stream YOLO ({n} images)", f"{mem['read']:.2f} MiB",
             f"{mem['read small']:.2f} MiB at {max(n // 10, 1)}", "flat: bounded"),
            (f"peak memory, YOLO->VOC ({n} images)", f"{mem['voc']:.2f} MiB",
             f"{mem['voc small']:.2f} MiB at {max(n // 10, 1)}", "flat: bounded"),
        ]  # fmt: skip
        report(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
