"""Copy files into a destination folder, with progress."""

import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory


class UploadParams(BaseModel):
    source: str | None = Field(None, description="Folder to upload (default: sample files)")
    destination: str | None = Field(None, description="Target folder (default: artifacts)")
    pattern: str = Field("*", description="Which files")


class UploadResult(BaseModel):
    files: int
    bytes: int
    destination: str


class UploadAction(BaseAction[UploadParams]):
    """Upload files to a destination folder."""

    action_name = "upload"
    category = PluginCategory.UPLOAD
    result_model = UploadResult

    def execute(self) -> UploadResult:
        source = Path(self.params.source) if self.params.source else self._samples()
        target = Path(self.params.destination or self.ctx.artifacts_dir / "uploaded")
        target.mkdir(parents=True, exist_ok=True)
        files = sorted(p for p in source.glob(self.params.pattern) if p.is_file())
        total = 0
        for i, file in enumerate(files, start=1):
            shutil.copy2(file, target / file.name)
            total += file.stat().st_size
            self.set_progress(i, len(files))
        self.log_message(f"uploaded {len(files)} files ({total} bytes)")
        return UploadResult(files=len(files), bytes=total, destination=str(target))

    def _samples(self) -> Path:
        folder = self.ctx.artifacts_dir / "samples"
        folder.mkdir(exist_ok=True)
        for n in range(3):
            (folder / f"sample_{n}.txt").write_text(f"sample file {n}\n")
        return folder
