"""A small PNG painter for the stand-in WebUI: a deterministic landscape per seed, stdlib only."""

from __future__ import annotations

import random
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Colour = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _blend(top: Colour, bottom: Colour, fraction: float) -> bytes:
    return bytes(round(a + (b - a) * fraction) for a, b in zip(top, bottom, strict=True))


def _colour(rng: random.Random, low: int, high: int) -> Colour:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def landscape(width: int, height: int, seed: int) -> bytes:
    """Paint a sky, a sun and three mountains, the same for the same seed, as an RGB PNG.

    Each row is built with bytes operations (a colour repeated, slices overwritten), which keeps
    a 1024x1024 image well under a second in pure Python.
    """
    rng = random.Random(seed)  # noqa: S311 (a picture, not a secret)
    sky_top, sky_bottom = _colour(rng, 10, 120), _colour(rng, 120, 255)
    sun = _colour(rng, 200, 255)
    sun_x, sun_y = rng.uniform(0.15, 0.85) * width, rng.uniform(0.1, 0.45) * height
    sun_r = rng.uniform(0.05, 0.12) * min(width, height)
    mountains = [
        (
            rng.uniform(0, 1) * width,
            rng.uniform(0.3, 0.6) * height,
            rng.uniform(0.6, 1.6),
            _colour(rng, 20, 110),
        )
        for _ in range(3)
    ]
    ground_y = int(height * rng.uniform(0.75, 0.9))
    ground = _colour(rng, 30, 90)
    rows = []
    for y in range(height):
        if y >= ground_y:
            row = bytearray(bytes(ground) * width)
        else:
            row = bytearray(_blend(sky_top, sky_bottom, y / max(1, height - 1)) * width)
            dy = y - sun_y
            if abs(dy) < sun_r:
                half = (sun_r * sun_r - dy * dy) ** 0.5
                x0, x1 = max(0, int(sun_x - half)), min(width, int(sun_x + half))
                if x1 > x0:
                    row[x0 * 3 : x1 * 3] = bytes(sun) * (x1 - x0)
            for peak_x, peak_y, slope, colour in mountains:
                if y > peak_y:
                    half = (y - peak_y) * slope
                    x0, x1 = max(0, int(peak_x - half)), min(width, int(peak_x + half))
                    if x1 > x0:
                        row[x0 * 3 : x1 * 3] = bytes(colour) * (x1 - x0)
        rows.append(b"\x00" + bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Read a PNG's width and height from its header; ValueError if it is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
