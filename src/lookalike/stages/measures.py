"""Measures at full size: `decode.detail` and `decode.grain` of a picture the scan decoded at a fraction of its
size (a large JPEG, DCT-scaled), read again only when the keep rule weighs it against a copy of another size.

Guarantees: `measured_file` (a worker function for `pool.decode_all`) reads one file and measures its picture as
stored, not turned (both measures are the same either way); a file it cannot read, or one over
MEASURE_MAX_PIXELS, gives no measure and no error: the scan read it once already. This module imports no decoder
until a worker calls it, so that the scanning process never loads Pillow.
"""

from __future__ import annotations

import io

from lookalike.stages.walk import open_regular

MEASURE_MAX_PIXELS = 50_000_000  # a larger picture is not decoded at full size to be measured


def measured_file(path: str, max_pixels: int) -> tuple[float | None, float | None] | None:
    """(detail, grain) of the picture at `path`, decoded at full size; None when it cannot be."""
    from PIL import Image

    from lookalike.stages.decode import _as_rgb, _centre, _cmyk_as_stored, detail, grain

    try:
        with open_regular(path) as handle, Image.open(io.BytesIO(handle.read())) as image:
            if image.width * image.height > min(max_pixels, MEASURE_MAX_PIXELS):
                return None
            middle = _centre(_as_rgb(_cmyk_as_stored(image))).convert("L")
    except Exception:  # no measure of this file; the scan goes on
        return None
    return detail(middle), grain(middle)
