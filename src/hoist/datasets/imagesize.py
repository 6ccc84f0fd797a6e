"""Image width and height from a file's header (PNG, JPEG, BMP, GIF), standard library
only: YOLO labels are normalised, so reading them needs each image's size, and decoding
whole images would cost far more than the labels."""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["IMAGE_SUFFIXES", "image_size"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def image_size(path: str | Path) -> tuple[int, int] | None:
    """``(width, height)`` of an image file, or None when its header is not one we know."""
    with open(path, "rb") as f:
        head = f.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return int(w), int(h)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", head[6:10])
            return int(w), int(h)
        if head.startswith(b"BM") and len(head) >= 26:
            w, h = struct.unpack("<ii", head[18:26])
            return int(w), abs(int(h))
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(f)
    return None


def _jpeg_size(f: object) -> tuple[int, int] | None:
    import io

    assert isinstance(f, io.BufferedReader)
    f.seek(2)
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            data = f.read(5)
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        f.seek(length - 2, 1)


def png_header(width: int, height: int) -> bytes:
    """The smallest bytes :func:`image_size` reads as a PNG of that size (generated test
    and benchmark data: the header only, not a decodable image)."""
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    )
