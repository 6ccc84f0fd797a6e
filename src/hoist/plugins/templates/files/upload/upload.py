"""Upload files to a storage location: a folder, a URL (s3://, sftp://, file://) or a
name from the storage config (see the README's Storage section).

The base (``BaseUploadAction``) reports progress per file, skips files already there
with the same SHA-256, and resumes a file an interrupted run left half-written.
Without a ``source``, this starter uploads a few sample files.
"""

from pathlib import Path

from hoist.plugins.actions import BaseUploadAction, UploadParams


class UploadAction(BaseUploadAction[UploadParams]):
    """Upload files to a destination folder."""

    action_name = "upload"

    def source_root(self) -> Path:
        if self.params.source:
            return super().source_root()
        folder = self.ctx.artifacts_dir / "samples"
        folder.mkdir(exist_ok=True)
        for n in range(3):
            (folder / f"sample_{n}.txt").write_text(f"sample file {n}\n")
        return Path(folder)
