"""Uploaded raster images, checked with Pillow, and the location removed from photos.

An image is opened, its size checked before any pixel is decoded (a 20,000 x
20,000 PNG of zeros is 400 MB of pixels from a few kilobytes: a decompression
bomb), then decoded once to find damage. Its pixels are never re-encoded: only
the metadata that holds where a photo was taken (EXIF GPS, and XMP packets that
mention GPS) is rewritten in place, so a JPEG loses no quality.

Pillow is called here only: ``Image.open`` with the one format the bytes were
sniffed as, ``Exif`` to read and rewrite the EXIF block. Its process-wide bomb
limit (``Image.MAX_IMAGE_PIXELS``) is left as is; ours is checked first.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image

GPS_IFD = 0x8825
"""The EXIF tag pointing at the GPS block."""

_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
}


class ImageRefused(ValueError):
    """The image is not stored: the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """How large an image may be, and whether photos keep their location."""

    max_pixels: int
    max_side_px: int
    keep_location: bool


def checked(data: bytes, media_type: str, limits: ImageLimits) -> bytes:
    """The bytes to store for this image: as given, or without its location data.

    Raises:
        ImageRefused: damaged, over the limits, or a location that cannot be removed.
    """
    image = _open(data, media_type, limits)
    located = GPS_IFD in image.getexif() or _xmp_with_gps(data)
    if not located or limits.keep_location:
        return data
    stripped = _strip(data, media_type, image.getexif())
    if stripped is None or GPS_IFD in _open(stripped, media_type, limits, decode=False).getexif():
        raise ImageRefused(
            f"this {_FORMATS[media_type]} image holds its location (EXIF GPS), which the "
            "server cannot remove from it; remove it, or save the photo as JPEG"
        )
    return stripped


def _open(data: bytes, media_type: str, limits: ImageLimits, decode: bool = True) -> Image.Image:
    """The image, its size checked, then (``decode``) decoded once to find damage."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]])
    except Image.DecompressionBombError:
        bomb = f"over {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels: a decompression bomb?"
        raise _too_large(bomb, limits) from None
    except Exception as error:  # Pillow raises many kinds for bytes it cannot read
        raise ImageRefused(f"the image is damaged: {error}") from None
    width, height = image.size
    if max(width, height) > limits.max_side_px or width * height > limits.max_pixels:
        raise _too_large(f"{width} x {height} pixels", limits)
    if not decode:
        return image
    try:
        if media_type == "image/jpeg":
            # Every byte decoded, 1/64 of the pixels made (never 0 a side: Pillow divides by it).
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
        image.load()
    except Exception as error:  # truncated data, a bad checksum, a corrupt stream...
        raise ImageRefused(f"the image is damaged: {error}") from None
    return image


def _too_large(size: str, limits: ImageLimits) -> ImageRefused:
    return ImageRefused(
        f"the image is too large ({size}); the server takes at most "
        f"{limits.max_side_px:,} pixels a side and {limits.max_pixels:,} pixels in all"
    )


def _xmp_with_gps(data: bytes) -> bool:
    # XMP names Adobe's namespaces (http://ns.adobe.com/...): 20 bytes no pixels make by chance.
    return b"GPS" in data and b"http://ns.adobe.com/" in data


def _exif_without_gps(exif: Image.Exif) -> bytes:
    """The EXIF block (TIFF bytes, no ``Exif`` prefix) with its GPS block removed."""
    exif.pop(GPS_IFD, None)
    return exif.tobytes()[6:]


def _strip(data: bytes, media_type: str, exif: Image.Exif) -> bytes | None:
    match media_type:
        case "image/jpeg":
            return _strip_jpeg(data, exif)
        case "image/png":
            return _strip_png(data, exif)
        case "image/webp":
            return _strip_webp(data, exif)
        case _:
            return None


def _strip_jpeg(data: bytes, exif: Image.Exif) -> bytes | None:
    """The JPEG with its APP1 EXIF rewritten and APP1 XMP mentioning GPS dropped."""
    out, at = [data[:2]], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        segment, payload = data[at : at + 2 + length], data[at + 4 : at + 2 + length]
        at += 2 + length
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            body = b"Exif\x00\x00" + _exif_without_gps(exif)
            if len(body) + 2 > 0xFFFF:
                return None
            segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
        elif marker == 0xE1 and payload.startswith(b"http://ns.adobe.com/") and b"GPS" in payload:
            continue
        out.append(segment)
    return b"".join(out) + data[at:]


def _strip_png(data: bytes, exif: Image.Exif) -> bytes:
    """The PNG with its eXIf chunk rewritten and text chunks of XMP or raw EXIF dropped."""
    out, at = [data[:8]], 8
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        chunk = data[at : at + 12 + length]
        at += 12 + length
        if kind == b"eXIf":
            body = _exif_without_gps(exif)
            crc = struct.pack(">I", zlib.crc32(kind + body))
            chunk = struct.pack(">I", len(body)) + kind + body + crc
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and body.startswith(
            (b"XML:com.adobe.xmp\x00", b"Raw profile type exif\x00", b"Raw profile type APP1\x00")
        ):
            continue
        out.append(chunk)
    return b"".join(out) + data[at:]


def _strip_webp(data: bytes, exif: Image.Exif) -> bytes:
    """The WebP with its EXIF chunk rewritten and an XMP chunk mentioning GPS dropped."""
    out: list[bytes] = []
    at = 12
    while at + 8 <= len(data):
        kind = data[at : at + 4]
        (length,) = struct.unpack("<I", data[at + 4 : at + 8])
        chunk = data[at : at + 8 + length + (length & 1)]
        at += 8 + length + (length & 1)
        if kind == b"EXIF":
            body = _exif_without_gps(exif)
            chunk = kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)
        elif kind == b"XMP " and b"GPS" in chunk:
            out = [_without_xmp_flag(c) for c in out]
            continue
        out.append(chunk)
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _without_xmp_flag(chunk: bytes) -> bytes:
    """A VP8X chunk says which metadata chunks follow: the XMP one no longer does."""
    if not chunk.startswith(b"VP8X"):
        return chunk
    return chunk[:8] + bytes([chunk[8] & ~0x04]) + chunk[9:]
