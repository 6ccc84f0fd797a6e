"""Storage locations on fsspec (local disk, S3, GCS, SFTP, HTTP): named once, used by
actions, artifacts and plugin publishing. A leaf: it knows files, not runs."""
