"""Activation codes from QR code images (SGP.22 section 4.1: the code is the QR code's text).

Needs the optional extra ``lpa[qr]`` (zxing-cpp to find and decode the symbol, Pillow to read the
image file), so that a photo or a screenshot of an operator's QR code works as it is.
"""
from __future__ import annotations

from typing import BinaryIO, cast

from .errors import InputError


def read_activation_code(path: str | BinaryIO, name: str | None = None) -> str:
    """The activation code in the image at `path` (a file name, or an open file called ``name`` in
    messages): the one QR code whose text starts with ``LPA:``."""
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InputError("reading QR code images needs the qr extra: pip install '.[qr]' in lpa's checkout (README, Installing) "
                         "(or give the code itself: lpa download 'LPA:1$...')") from None
    label = name or (path if isinstance(path, str) else "the image")
    try:
        with Image.open(path) as image:
            image.load()
            # zxing-cpp's stubs want BarcodeFormats; its binding converts a single BarcodeFormat itself
            qr = cast("zxingcpp.BarcodeFormats", zxingcpp.BarcodeFormat.QRCode)
            symbols = zxingcpp.read_barcodes(image, formats=qr)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise InputError(f"{label}: not a readable image ({error.__class__.__name__})") from None
    texts = list(dict.fromkeys(symbol.text for symbol in symbols))
    codes = [text for text in texts if text.upper().startswith("LPA:")]
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        raise InputError(f"{label}: {len(codes)} different activation codes in the image; crop it to one")
    if texts:
        raise InputError(f"{label}: the QR code holds no activation code (it does not start with LPA:)")
    raise InputError(f"{label}: no QR code found; try a sharper or larger image")
