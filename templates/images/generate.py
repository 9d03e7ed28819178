#!/usr/bin/env python3
"""Generate passwright's default Apple Wallet images (storeCard: icon, logo, strip).

Python 3 standard library only (zlib + struct). Run from anywhere:

    python3 templates/images/generate.py

The design is deliberately plain so it suits any programme until the operator uploads
their own artwork: a slate rounded square holding a light "card" with a slate stripe
(icon and logo), and a soft slate gradient (strip). Sizes follow Apple's storeCard
guidance in points (x2 / x3 for @2x / @3x): icon 29x29, logo 50x50 (inside the 160x50
limit), strip 375x123.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

SLATE = (58, 74, 92)        # #3A4A5C
SLATE_DARK = (40, 51, 64)   # #283340
CARD = (236, 239, 243)      # #ECEFF3
SS = 4                      # supersampling per axis for anti-aliased edges


def png_bytes(width, height, rows, alpha):
    """Encode rows (lists of channel ints) as an 8-bit RGB or RGBA PNG."""
    channels = 4 if alpha else 3
    raw = bytearray()
    for row in rows:
        row = bytes(row)
        # Filter "Sub" (1): each byte minus the same channel of the pixel to its left. Flat areas
        # and one-colour rows become runs of zeros, which deflate to almost nothing.
        raw.append(1)
        raw.extend((row[i] - (row[i - channels] if i >= channels else 0)) & 0xFF for i in range(len(row)))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    colour_type = 6 if alpha else 2
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    assert len(raw) == height * (1 + width * channels)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def rounded_rect(x, y, x0, y0, x1, y1, r):
    """True if (x, y) lies inside the rounded rectangle."""
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def mark_pixel(u, v):
    """Colour (rgb, alpha) of the mark at unit coordinates u, v in [0, 1]."""
    if not rounded_rect(u, v, 0.0, 0.0, 1.0, 1.0, 0.225):
        return None
    # A card lying inside the tile, with a stripe near its top.
    if rounded_rect(u, v, 0.2, 0.3, 0.8, 0.7, 0.06):
        if 0.38 <= v <= 0.46:
            return SLATE_DARK
        return CARD
    return SLATE


def render_mark(size, opaque):
    rows = []
    for py in range(size):
        row = []
        for px in range(size):
            acc = [0, 0, 0]
            hits = 0
            for sy in range(SS):
                for sx in range(SS):
                    u = (px + (sx + 0.5) / SS) / size
                    v = (py + (sy + 0.5) / SS) / size
                    c = mark_pixel(u, v)
                    if c is None:
                        continue
                    hits += 1
                    for i in range(3):
                        acc[i] += c[i]
            if opaque:
                # Icons are shown on system backgrounds; give them a white surround instead of transparency.
                bg = (255, 255, 255)
                n = SS * SS
                row.extend(round((acc[i] + bg[i] * (n - hits)) / n) for i in range(3))
            elif hits:
                row.extend(round(acc[i] / hits) for i in range(3))
                row.append(round(255 * hits / (SS * SS)))
            else:
                row.extend((0, 0, 0, 0))
        rows.append(row)
    return rows


def render_strip(width, height):
    """A vertical slate gradient. Every row is one colour, so with the Sub filter the image
    compresses to almost nothing and keeps every pass download small."""
    rows = []
    for py in range(height):
        t = py / max(1, height - 1)
        colour = [SLATE[i] + (SLATE_DARK[i] - SLATE[i]) * t for i in range(3)]
        rows.append([round(c) for c in colour] * width)
    return rows


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def main():
    for scale in (1, 2, 3):
        suffix = "" if scale == 1 else f"@{scale}x"
        icon = 29 * scale
        write(f"icon{suffix}.png", png_bytes(icon, icon, render_mark(icon, True), False))
        logo = 50 * scale
        write(f"logo{suffix}.png", png_bytes(logo, logo, render_mark(logo, False), True))
        sw, sh = 375 * scale, 123 * scale
        write(f"strip{suffix}.png", png_bytes(sw, sh, render_strip(sw, sh), False))


if __name__ == "__main__":
    main()
