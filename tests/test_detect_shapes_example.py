"""The detect_shapes example for real: generated images and boxes, YOLO -> COCO, a CNN
trained with Lightning (autolog), batch inference and a torch.export program; checked
with readers the plugin did not write (pycocotools, zlib, torch.export.load)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from hoist import run_plugin
from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.pipelines.config import pipeline_from_config
from hoist.plugins.discovery import load_plugin
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.memory import MemorySink
from tests.conftest import EXAMPLES, need

DETECT = EXAMPLES / "detect_shapes"
Box = tuple[float, float, float, float]

# Lightning 2.6 on torch 2.13 warns about its own use of torch APIs; pytest turns
# warnings into errors.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
]


@pytest.fixture
def ml_stack() -> None:
    """torch and Lightning, or skip (fail under CI)."""
    for module in ("torch", "lightning"):
        if importlib.util.find_spec(module) is None:
            need(f"{module} is not installed: pip install -e '.[autolog]' torch==2.13.0")


def _coco() -> Any:
    try:
        from pycocotools.coco import COCO
    except ImportError:
        need("pycocotools (dev extra)")
    return COCO


def _gray_png(path: str) -> tuple[int, int, bytes]:
    """A reader independent of the plugin's: 8-bit grayscale rows with filter 0."""
    raw = Path(path).read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, color = struct.unpack(">IIBB", raw[16:26])
    assert (depth, color) == (8, 0)
    pos, data = 8, b""
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        if raw[pos + 4 : pos + 8] == b"IDAT":
            data += raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
    rows = zlib.decompress(data)
    stride = width + 1
    assert all(rows[y * stride] == 0 for y in range(height))
    return width, height, b"".join(rows[y * stride + 1 : (y + 1) * stride] for y in range(height))


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - ix * iy
    return ix * iy / union


def _largest(coco: Any, image_id: int) -> tuple[str, Box]:
    ann = max(coco.loadAnns(coco.getAnnIds(imgIds=image_id)), key=lambda a: a["area"])
    return coco.loadCats(ann["category_id"])[0]["name"], tuple(ann["bbox"])


def _children(sink: MemorySink, parent: str) -> dict[str, Run]:
    return {str(r.meta.get("node")): r for r in sink.runs.values() if r.parent_id == parent}


def test_detect_flow_trains_a_detector_that_beats_the_mean_box(ml_stack: None) -> None:
    COCO = _coco()
    sink = MemorySink()
    executor = LocalExecutor(sink=sink, progress_interval=0)
    pipeline = pipeline_from_config(load_plugin(DETECT), "detect_flow")
    result = pipeline.execute({}, executor=executor)  # the defaults the README runs
    (flow,) = [r for r in sink.runs.values() if r.kind is RunKind.PIPELINE]
    nodes = _children(sink, flow.id)
    assert set(nodes) == {"generate", "convert", "train", "predict", "export"}
    assert all(r.status is RunStatus.SUCCEEDED for r in nodes.values())

    # The dataset: COCO that pycocotools reads, with the generated counts, and images
    # whose pixels show what the labels say (light and dark fills inside the box).
    dataset = Path(result["dataset"]["path"])
    assert result["dataset"]["format"] == "coco" and result["images"] == 240
    train_coco = COCO(str(dataset / "annotations" / "instances_train.json"))
    val_coco = COCO(str(dataset / "annotations" / "instances_val.json"))
    assert len(train_coco.getImgIds()) + len(val_coco.getImgIds()) == 240
    assert len(train_coco.getAnnIds()) + len(val_coco.getAnnIds()) == result["boxes"]
    assert [c["name"] for c in train_coco.loadCats(train_coco.getCatIds())] == [
        "light", "dark", "checkered",
    ]  # fmt: skip
    for image_id in val_coco.getImgIds()[:10]:
        info = val_coco.loadImgs(image_id)[0]
        width, _, pixels = _gray_png(str(dataset / "images" / "val" / info["file_name"]))
        name, box = _largest(val_coco, image_id)
        x, y, w, h = (round(v) for v in box)  # YOLO kept 6 decimals of the integer boxes
        inside = {pixels[row * width + col] for row in range(y, y + h) for col in range(x, x + w)}
        expected = {"light": {230}, "dark": {25}, "checkered": {25, 230}}[name]
        assert inside == expected

    # Training: Lightning's epochs reached the run through autolog, the base saved a
    # checkpoint per epoch and the weights with their checksum.
    train_events = sink.events(nodes["train"].id)
    epochs = [e.values for e in train_events if e.type == "metrics" and e.category == "train"]
    assert [m["epoch"] for m in epochs] == [float(i) for i in range(1, 13)]
    assert all({"train_loss", "val_loss", "val_iou", "val_accuracy", "step"} <= set(m)
               for m in epochs)  # fmt: skip
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    bars = [(e.current, e.total) for e in train_events
            if e.type == "progress" and e.category == "train"]  # fmt: skip
    assert bars == [(i, 12) for i in range(1, 13)]
    weights = Path(result["weights_path"])
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == result["weights_sha256"]
    artifacts = [e.name for e in train_events if e.type == "artifact"]
    assert [f"checkpoints/epoch_{i:04d}.bin" for i in range(1, 13)] == artifacts[:12]
    assert result["best_metric"] == "val_iou"
    assert result["best_value"] == max(m["val_iou"] for m in epochs)

    # Inference: one prediction per val image, scored right, and better than always
    # answering the mean box (recomputed here from pycocotools' reading).
    predictions = json.loads(Path(result["predictions_path"]).read_text())
    assert len(predictions) == result["count"] == len(val_coco.getImgIds())
    by_file = {Path(p["file"]).name: p for p in predictions}
    truth = {info["file_name"]: _largest(val_coco, info["id"])
             for info in val_coco.loadImgs(val_coco.getImgIds())}  # fmt: skip
    ious = [_iou(tuple(by_file[f]["box"]), box) for f, (_, box) in truth.items()]
    mean_iou = sum(ious) / len(ious)
    accuracy = sum(by_file[f]["category"] == name for f, (name, _) in truth.items()) / len(truth)
    assert mean_iou == pytest.approx(result["mean_iou"], abs=1e-3)
    assert accuracy == pytest.approx(result["accuracy"], abs=1e-3)
    train_boxes = [_largest(train_coco, i)[1] for i in train_coco.getImgIds()]
    mean_box = tuple(sum(b[k] for b in train_boxes) / len(train_boxes) for k in range(4))
    baseline = sum(_iou(mean_box, box) for _, box in truth.values()) / len(truth)  # type: ignore[arg-type]
    assert baseline == pytest.approx(result["baseline_iou"], abs=1e-3)
    assert mean_iou > baseline + 0.15 and accuracy >= 0.8
    scored = [e.values for e in sink.events(nodes["predict"].id) if e.type == "metrics"]
    assert scored[-1]["mean_iou"] == result["mean_iou"]

    # Export: a torch.export program that answers as the predictions say.
    import torch

    exported = Path(result["path"])
    assert exported.suffix == ".pt2" and result["format"] == "pt2"
    assert hashlib.sha256(exported.read_bytes()).hexdigest() == result["sha256"]
    extra = {"categories.txt": ""}
    program = torch.export.load(str(exported), extra_files=extra).module()
    assert extra["categories.txt"].split("\n") == ["light", "dark", "checkered"]
    files = sorted(truth)[:5]
    planes = []
    for name in files:
        width, height, pixels = _gray_png(str(dataset / "images" / "val" / name))
        plane = torch.tensor(list(pixels), dtype=torch.float32).view(1, height, width)
        planes.append(plane / 127.5 - 1)
    boxes, logits = program(torch.stack(planes))
    for name, (cx, cy, w, h), scores in zip(files, boxes.tolist(), logits, strict=True):
        mine = ((cx - w / 2) * 64, (cy - h / 2) * 64, w * 64, h * 64)
        assert mine == pytest.approx(by_file[name]["box"], abs=0.02)
        assert (
            extra["categories.txt"].split("\n")[int(scores.argmax())] == by_file[name]["category"]
        )


def test_a_resumed_flow_skips_finished_nodes_and_training_continues(
    ml_stack: None, runtime: Runtime
) -> None:
    executor = LocalExecutor(runtime=runtime, progress_interval=0)
    pipeline = pipeline_from_config(load_plugin(DETECT), "detect_flow")
    small = {"images": 48, "epochs": 3}
    with pytest.raises(ActionFailedError, match=r"(?s)node 'export'.*filename: must match"):
        pipeline.execute({**small, "filename": "not a file name!"}, executor=executor)
    runtime.sink.flush()
    (failed,) = runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    result = pipeline.execute({**small, "filename": "detector.pt2"}, executor=executor,
                              resume_from=failed.id, allow_param_changes=True)  # fmt: skip
    runtime.sink.flush()
    assert Path(result["path"]).name == "detector.pt2" and result["last_epoch"] == 3
    resumed = next(r for r in runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
                   if r.id != failed.id)  # fmt: skip
    phases = {(e.step, e.phase) for e in executor.log.events(resumed.id) if e.type == "step"}
    assert {("generate", "skipped"), ("convert", "skipped"), ("train", "skipped")} <= phases
    assert ("export", "finished") in phases
    trained = runtime.store.list_runs(RunFilter(plugin="detect_shapes", action="train"))
    assert len(trained) == 1  # trained once, in the failed run

    # More epochs on the same output folder: Lightning continues from the last
    # checkpoint (epoch 3), and autolog reports the epochs it runs.
    output = Path(result["weights_path"]).parent
    more = run_plugin(DETECT, "train", {"dataset": result["dataset"], "epochs": 5,
                                        "output_dir": str(output)}, executor=executor)  # fmt: skip
    assert more.resumed_from == str(output / "checkpoints" / "epoch_0003.bin")
    assert (more.epochs_run, more.last_epoch) == (2, 5)
    runtime.sink.flush()
    (latest,) = [r for r in runtime.store.list_runs(RunFilter(action="train"))
                 if r.parent_id is None]  # fmt: skip
    bars = [(e.current, e.total) for e in executor.log.events(latest.id)
            if e.type == "progress" and e.category == "train"]  # fmt: skip
    assert bars == [(4, 5), (5, 5)]


def test_the_dataset_actions_refuse_what_they_cannot_use(ml_stack: None) -> None:
    executor = LocalExecutor(sink=MemorySink(), progress_interval=0)
    generated = run_plugin(DETECT, "generate", {"images": 8}, executor=executor)
    label = Path(generated.path) / "labels" / "train" / "shape_00000.txt"
    label.write_text("7 0.5 0.5 0.2 0.2\n")  # an unknown class id
    with pytest.raises(ActionFailedError, match=r"shape_00000\.txt.*unknown class id 7"):
        run_plugin(DETECT, "convert", {"path": generated.path}, executor=executor)
    with pytest.raises(ActionFailedError, match="expected coco"):
        run_plugin(DETECT, "train", {"dataset": generated.path, "epochs": 1}, executor=executor)


def _filtered_png(path: Path, rows: list[bytes], kinds: list[int]) -> None:
    """A grayscale PNG whose row ``y`` is stored with PNG filter ``kinds[y]`` (the
    filters as the PNG specification defines them, written here independently)."""

    def paeth(a: int, b: int, c: int) -> int:
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else b if pb <= pc else c

    data, prev = b"", bytes(len(rows[0]))
    for row, kind in zip(rows, kinds, strict=True):
        out = bytearray([kind])
        for x, value in enumerate(row):
            a, b, c = (row[x - 1] if x else 0), prev[x], (prev[x - 1] if x else 0)
            predicted = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            out.append((value - predicted) % 256)
        data, prev = data + bytes(out), row

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))  # fmt: skip


def test_the_plugins_png_reader_undoes_every_row_filter(tmp_path: Path) -> None:
    import random

    spec = importlib.util.spec_from_file_location("detect_shapes_png", DETECT / "plugin" / "png.py")
    assert spec is not None and spec.loader is not None
    png = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(png)  # a standard-library module: loaded from its file
    read_gray_png = png.read_gray_png
    rng = random.Random(3)
    rows = [rng.randbytes(9) for _ in range(10)]
    _filtered_png(tmp_path / "f.png", rows, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    assert read_gray_png(tmp_path / "f.png") == (9, 10, b"".join(rows))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # RGB: refused, naming the file
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF)
    rgb = tmp_path / "rgb.png"
    rgb.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + crc)
    with pytest.raises(ValueError, match=r"rgb\.png: only 8-bit grayscale.*color type 2"):
        read_gray_png(rgb)
