"""``export``: the trained detector as a ``torch.export`` program (``.pt2``): it loads
with ``torch.export.load(path).module()``, no Hoist or plugin code needed, and takes a
batch of any size."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hoist.plugins.actions import BaseExportAction, ExportParams
from hoist.plugins.types import ModelWeights, TorchModel


class ExportModelParams(ExportParams):
    weights_path: str = Field(..., description="The weights.pt a `train` run wrote")


class ExportAction(BaseExportAction[ExportModelParams]):
    """Export the trained detector as a torch.export program (.pt2)."""

    action_name = "export"
    input_type = ModelWeights
    output_type = TorchModel
    export_format = "pt2"
    default_filename = "shapes_detector.pt2"

    def export(self, path: Path) -> int:
        """Export the net with a dynamic batch size, check the program answers as the net
        does, and save it (category names in its ``categories.txt`` extra file)."""
        import torch

        from plugin.model import load_net

        net, categories = load_net(self.params.weights_path)
        side = net.image_size
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(
            net, (torch.zeros(2, 1, side, side),), dynamic_shapes=({0: batch},)
        )
        probe = torch.rand(3, 1, side, side) * 2 - 1
        with torch.no_grad():
            for mine, theirs in zip(net(probe), program.module()(probe), strict=True):
                if not torch.allclose(mine, theirs, atol=1e-5):
                    raise RuntimeError("the exported program does not answer as the net does")
        torch.export.save(program, path, extra_files={"categories.txt": "\n".join(categories)})
        self.set_progress(1, 1, self.progress_category)
        return 1
