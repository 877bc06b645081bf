"""Measures at full size: `decode.detail`, `decode.grain` and the pixel hash of a picture the scan decoded at a
fraction of its size (a large JPEG, DCT-scaled), read again only when the keep rule weighs it against a copy of
another size, or against a lossless copy of its size that may hold the same pixels.

Guarantees: `measured_file` (a worker function for `pool.decode_all`) reads one file and measures its picture
turned upright, as the scan does; a file it cannot read, or one over MEASURE_MAX_PIXELS, gives no measure and no
error: the scan read it once already. This module imports no decoder until a worker calls it, so that the
scanning process never loads Pillow.
"""

from __future__ import annotations

from lookalike.stages.walk import open_regular

MEASURE_MAX_PIXELS = 50_000_000  # a larger picture is not decoded at full size to be measured


def measured_file(path: str, max_pixels: int) -> tuple[float | None, float | None, bytes] | None:
    """(detail, grain, pixel hash) of the picture at `path`, decoded at full size; None when it cannot be."""
    from lookalike.stages.decode import measured_at_full_size

    try:
        with open_regular(path) as handle:
            return measured_at_full_size(handle.read(), min(max_pixels, MEASURE_MAX_PIXELS))
    except Exception:  # no measure of this file; the scan goes on
        return None
