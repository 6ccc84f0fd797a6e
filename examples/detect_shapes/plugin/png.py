"""8-bit grayscale PNG files with the standard library only: the example's images are
real, decodable pictures without an imaging package to install."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

__all__ = ["read_gray_png", "write_gray_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_gray_png(path: Path, width: int, height: int, pixels: bytes) -> None:
    """Write ``pixels`` (``height`` rows of ``width`` bytes) as a grayscale PNG."""
    if len(pixels) != width * height:
        raise ValueError(f"{len(pixels)} pixels for a {width}x{height} image")
    rows = b"".join(b"\x00" + pixels[y * width : (y + 1) * width] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows, 6))
    path.write_bytes(data + _chunk(b"IEND", b""))


def read_gray_png(path: str | Path) -> tuple[int, int, bytes]:
    """``(width, height, pixels)`` of an 8-bit grayscale, non-interlaced PNG (any row
    filter); other kinds are refused naming the file."""
    raw = Path(path).read_bytes()
    if not raw.startswith(SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = len(SIGNATURE), [], b""
    while pos + 8 <= len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, data = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise ValueError(f"{path}: no IHDR chunk")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if (depth, color, interlace) != (8, 0, 0):
        raise ValueError(
            f"{path}: only 8-bit grayscale non-interlaced PNGs are read here "
            f"(bit depth {depth}, color type {color}, interlace {interlace})"
        )
    data = zlib.decompress(b"".join(idat))
    out = bytearray(width * height)
    prev = bytearray(width)
    for y in range(height):
        start = y * (width + 1)
        kind, row = data[start], bytearray(data[start + 1 : start + 1 + width])
        _unfilter(kind, row, prev)
        out[y * width : (y + 1) * width] = row
        prev = row
    return width, height, bytes(out)


def _unfilter(kind: int, row: bytearray, prev: bytearray) -> None:
    """Undo one row's PNG filter in place (one byte per pixel)."""
    if kind == 0:
        return
    for x in range(len(row)):
        left = row[x - 1] if x else 0
        up, corner = prev[x], prev[x - 1] if x else 0
        if kind == 1:
            predicted = left
        elif kind == 2:
            predicted = up
        elif kind == 3:
            predicted = (left + up) // 2
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            predicted = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        else:
            raise ValueError(f"unknown PNG row filter {kind}")
        row[x] = (row[x] + predicted) & 0xFF
