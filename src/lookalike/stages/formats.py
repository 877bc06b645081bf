"""Which files are images: recognised by their first bytes, with file name extensions only as a hint.

Guarantees: `sniff_format` reads nothing but the bytes it is given and names each format once, in the words
used in reports ("JPEG", "PNG", "HEIC", ...). Camera RAW files that are TIFF inside (NEF, ARW, DNG, ...) sniff
as "TIFF"; `raw_format` names them by their extension, and the decoder confirms by reading them as RAW.
"""

from __future__ import annotations

import os

RAW_EXTENSIONS = {
    ".cr2": "CR2", ".cr3": "CR3", ".nef": "NEF", ".nrw": "NRW", ".arw": "ARW", ".srf": "SRF", ".sr2": "SR2",
    ".dng": "DNG", ".raf": "RAF", ".orf": "ORF", ".rw2": "RW2", ".pef": "PEF", ".srw": "SRW",
}

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".dib", ".mpo",
    ".heic", ".heif", ".hif", ".avif", *RAW_EXTENSIONS,
})

# RAW formats told apart by content; the others are TIFF inside and sniff as "TIFF"
SNIFFED_RAW_FORMATS = frozenset({"CR2", "CR3", "RAF", "ORF", "RW2"})

_ISO_BRANDS = {
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
        return _iso_brand(head)
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_flavour(head)
    return None


def _iso_brand(head: bytes) -> str | None:
    """HEIF, AVIF or CR3 from an ISO media `ftyp` box: its major brand, else the first known compatible one."""
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = [head[8:12]] + [head[offset:offset + 4] for offset in range(16, box_end - 3, 4)]
    return next((_ISO_BRANDS[brand] for brand in brands if brand in _ISO_BRANDS), None)


def _tiff_flavour(head: bytes) -> str:
    # Canon writes "CR" at offset 8; other raw formats are told apart by their decoder, not here.
    if head[8:10] == b"CR":
        return "CR2"
    return "TIFF"


def extension_of(path: str) -> str:
    """The lower-case extension of a file's name; a dot-file's whole name counts (".jpeg" is named like a JPEG)."""
    name = os.path.basename(path)
    return name[name.rfind("."):].lower() if "." in name else ""


def raw_format(sniffed: str | None, extension: str) -> str | None:
    """The camera RAW format of a file that sniffs as `sniffed` and is named `*extension`, or None."""
    if sniffed in SNIFFED_RAW_FORMATS:
        return sniffed
    if sniffed == "TIFF":
        return RAW_EXTENSIONS.get(extension.lower())
    return None


_PILLOW_NAMES = {"WEBP": "WebP", "JPEG2000": "JPEG 2000"}


def format_name(pillow_format: str | None) -> str:
    """The report's name for a format Pillow names `pillow_format`."""
    if pillow_format is None:
        return "unknown"
    return _PILLOW_NAMES.get(pillow_format, pillow_format)
