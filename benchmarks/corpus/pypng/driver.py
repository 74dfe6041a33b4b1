"""pypng: writing and reading PNG images in pure Python.

A user of pypng writes images from rows of pixel values with ``png.Writer`` and reads PNG files
with ``png.Reader`` (``read``, ``read_flat``, ``asRGBA8``, ...). Here, synthetic images (gradients,
rings and seeded noise) are:

* written by pypng as RGB, RGBA, 16-bit greyscale, 2-bit greyscale, palette, and interlaced
  images, then read back and converted;
* read from PNG files as other encoders write them, with a filter type per row (sub, up,
  average, Paeth): pypng itself always writes filter type 0, so the driver filters the rows
  itself (vectorized with NumPy, outside pypng) and packs the chunks with
  ``png.write_chunks``. Undoing those filters (``undo_filter_sub``, ``..._paeth``) is pypng's
  byte loop over ``bytearray`` rows, the hot loop of any PNG decoder.
"""

import hashlib
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import png
from corpus_common import Digest, pick


def picture(width: int, height: int, channels: int, seed: int) -> np.ndarray:
    """A ``height x width x channels`` uint8 image: gradients, rings and a little noise."""
    y, x = np.mgrid[0:height, 0:width]
    rings = (np.hypot(x - width / 2, y - height / 3) * 0.2).astype(int) % 2 * 60
    noise = np.random.RandomState(seed).randint(0, 12, (height, width))
    layers = [(x * 255 // width + rings + noise * (k + 1)) % 256 for k in range(channels)]
    layers[1 % channels] = (y * 255 // height + noise) % 256
    return np.dstack(layers).astype(np.uint8)


def paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The Paeth predictor, elementwise (PNG specification, section 9.4)."""
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filtered_png(image: np.ndarray) -> bytes:
    """A PNG of ``image`` (8-bit RGB/RGBA) whose row ``k`` uses filter type ``k % 5``."""
    height, width, channels = image.shape
    rows = image.reshape(height, width * channels).astype(np.int32)
    raw = bytearray()
    for k in range(height):
        row = rows[k]
        left = np.concatenate([np.zeros(channels, np.int32), row[:-channels]])
        up = rows[k - 1] if k else np.zeros_like(row)
        upleft = np.concatenate([np.zeros(channels, np.int32), up[:-channels]])
        kind = k % 5
        predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upleft)][kind]
        raw.append(kind)
        raw += ((row - predictor) % 256).astype(np.uint8).tobytes()
    color = {3: 2, 4: 6}[channels]
    header = struct.pack("!2I5B", width, height, 8, color, 0, 0, 0)
    out = io.BytesIO()
    idat = zlib.compress(bytes(raw), 6)
    png.write_chunks(out, [(b"IHDR", header), (b"IDAT", idat), (b"IEND", b"")])
    return out.getvalue()


def pixel_hash(rows) -> str:
    """SHA-256 of every pixel value of ``rows`` (any iterable of sequences of ints)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(np.asarray(row, dtype=np.uint16).tobytes())
    return digest.hexdigest()


def encode(writer: png.Writer, rows) -> bytes:
    """The PNG file ``writer`` makes of ``rows``."""
    out = io.BytesIO()
    writer.write(out, rows)
    return out.getvalue()


def written_and_read(size: int, digest: Digest) -> None:
    """Images written by pypng in several formats, read back."""
    rgb = picture(size, size, 3, 1)
    rows = rgb.reshape(size, size * 3).tolist()
    cases = {
        "rgb": (png.Writer(size, size, greyscale=False), rows),
        "rgb interlaced": (png.Writer(size, size, greyscale=False, interlace=True), rows),
        "rgba": (
            png.Writer(size, size, greyscale=False, alpha=True),
            picture(size, size, 4, 2).reshape(size, size * 4).tolist(),
        ),
        "grey16": (
            png.Writer(size, size, greyscale=True, bitdepth=16),
            (rgb[:, :, 0].astype(np.int32) * 257).tolist(),
        ),
        "grey2": (png.Writer(size, size, greyscale=True, bitdepth=2), (rgb[:, :, 1] >> 6).tolist()),
        "palette": (
            png.Writer(size, size, palette=[(i, 255 - i, (i * 7) % 256) for i in range(16)]),
            (rgb[:, :, 2] >> 4).tolist(),
        ),
    }
    for name, (writer, pixels) in cases.items():
        data = encode(writer, pixels)
        digest.add(f"{name} file", hashlib.sha256(data).hexdigest())
        width, height, values, info = png.Reader(bytes=data).read()
        digest.add(f"{name} read", [width, height, pixel_hash(values), sorted(info.items())])
        width, height, values, info = png.Reader(bytes=data).asRGBA8()
        digest.add(f"{name} rgba8", pixel_hash(values))


def filtered(size: int, digest: Digest) -> None:
    """Files with every filter type, decoded by pypng."""
    for channels, seed in ((3, 5), (4, 6), (3, 7)):
        image = picture(size, size, channels, seed)
        data = filtered_png(image)
        width, height, values, _ = png.Reader(bytes=data).read_flat()
        decoded = pixel_hash([values])
        digest.add(f"filtered {channels} {seed}", [width, height, decoded])
        digest.add(f"filtered {channels} {seed} exact", decoded == pixel_hash([image.ravel()]))
        reader = png.Reader(bytes=data)
        _, _, values, _ = reader.asRGB8() if channels == 3 else reader.asRGBA8()
        digest.add(f"filtered {channels} {seed} converted", pixel_hash(values))


def main() -> None:
    digest = Digest()
    written_and_read(pick(256, 32), digest)
    filtered(pick(720, 48), digest)
    digest.close()


if __name__ == "__main__":
    main()
