"""Uploaded images checked, and where a photo was taken removed without touching its pixels."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from web.images import GPS_IFD, ImageLimits, ImageRefused, checked

LIMITS = ImageLimits(max_pixels=1_000_000, max_side_px=2000, keep_location=False)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="52,31.2N"/></rdf:RDF></x:xmpmeta>'
)


def photo(kind: str, **extra: object) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Test camera"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 10)).save(buffer, kind, exif=exif.tobytes(), **extra)
    return buffer.getvalue()


def located(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)) or b"GPS" in data


@pytest.mark.parametrize(
    ("kind", "media_type", "extra"),
    [
        ("JPEG", "image/jpeg", {"xmp": XMP}),
        ("WEBP", "image/webp", {"xmp": XMP, "lossless": True}),
        ("PNG", "image/png", {}),
    ],
)
def test_exif_gps_and_xmp_mentioning_gps_are_removed_and_the_pixels_kept(
    kind: str, media_type: str, extra: dict[str, object]
) -> None:
    original = photo(kind, **extra)
    assert located(original)
    stripped = checked(original, media_type, LIMITS)
    assert not located(stripped)
    after = Image.open(io.BytesIO(stripped))
    assert after.getexif()[0x010F] == "Test camera"
    assert after.tobytes() == Image.open(io.BytesIO(original)).tobytes()
    kept = ImageLimits(LIMITS.max_pixels, LIMITS.max_side_px, keep_location=True)
    assert checked(original, media_type, kept) == original


def test_xmp_in_a_png_text_chunk_is_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    assert b"GPS" not in checked(buffer.getvalue(), "image/png", LIMITS)


def test_an_image_without_a_location_is_stored_byte_for_byte() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    assert checked(buffer.getvalue(), "image/gif", LIMITS) == buffer.getvalue()


def test_sizes_past_the_limits_are_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("1", (2001, 1)).save(buffer, "PNG")
    with pytest.raises(ImageRefused, match=r"too large \(2001 x 1 pixels\)"):
        checked(buffer.getvalue(), "image/png", LIMITS)


@pytest.mark.parametrize("size", [(1, 1), (7, 300), (300, 7)])
def test_a_jpeg_narrower_than_8_pixels_is_taken(size: tuple[int, int]) -> None:
    # A JPEG is decoded at 1/8 of its size to find damage: never at 0 pixels.
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    assert checked(buffer.getvalue(), "image/jpeg", LIMITS) == buffer.getvalue()
