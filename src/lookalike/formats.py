"""Which files are images: recognised by their first bytes, with file name extensions only as a hint.

Guarantees: `sniff_format` reads nothing but the bytes it is given and names each format once, in the words
used in reports ("JPEG", "PNG", "HEIC", ...).
"""

from __future__ import annotations

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".dib", ".mpo",
    ".heic", ".heif", ".hif", ".avif",
    ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw", ".x3f",
})

RAW_FORMATS = frozenset({"CR2", "CR3", "NEF", "ARW", "DNG", "RAF", "ORF", "RW2", "PEF"})

_HEIF_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"heim": "HEIC", b"heis": "HEIC", b"hevc": "HEIC", b"hevx": "HEIC",
    b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF", b"crx ": "CR3",
}


def sniff_format(head: bytes) -> str | None:
    """Return the image format that `head` (a file's first 64 bytes or more) starts like, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12])
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_flavour(head)
    return None


def _tiff_flavour(head: bytes) -> str:
    # Canon writes "CR" at offset 8; other raw formats are told apart by their decoder, not here.
    if head[8:10] == b"CR":
        return "CR2"
    return "TIFF"


_PILLOW_NAMES = {"WEBP": "WebP", "JPEG2000": "JPEG 2000"}


def format_name(pillow_format: str | None) -> str:
    """The report's name for a format Pillow names `pillow_format`."""
    if pillow_format is None:
        return "unknown"
    return _PILLOW_NAMES.get(pillow_format, pillow_format)
