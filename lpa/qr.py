"""Activation codes from QR code images (SGP.22 section 4.1: the code is the QR code's text).

Needs the optional extra ``lpa[qr]`` (zxing-cpp to find and decode the symbol, Pillow to read the
image file), so that a photo or a screenshot of an operator's QR code works as it is.
"""
from __future__ import annotations

import io
import warnings
from typing import cast

from .errors import InputError
from .paths import read_regular

#: The largest image file and picture lpa decodes: a phone's photo or screenshot is well below.
MAX_FILE = 50 * 1024 * 1024
MAX_PIXELS = 64_000_000


def read_activation_code(path: str) -> str:
    """The activation code in the image file at ``path`` (a regular file of at most :data:`MAX_FILE`)."""
    return activation_code_in(read_regular(path, MAX_FILE, "an image"), path)


def activation_code_in(data: bytes, label: str) -> str:
    """The activation code in the image ``data`` (called ``label`` in messages): the one QR code whose
    text starts with ``LPA:``; its picture bounded to :data:`MAX_PIXELS` before decoding."""
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InputError("reading QR code images needs the qr extra: pip install '.[qr]' in lpa's checkout (README, Installing) "
                         "(or give the code itself: lpa download 'LPA:1$...')") from None
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses more than twice this before decoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > MAX_PIXELS:
                    raise InputError(f"{label}: the image is {width}x{height} pixels, more than a QR code picture "
                                     f"needs ({MAX_PIXELS // 1_000_000} million at most); crop or scale it down")
                image.load()
                # zxing-cpp's stubs want BarcodeFormats; its binding converts a single BarcodeFormat itself
                qr = cast("zxingcpp.BarcodeFormats", zxingcpp.BarcodeFormat.QRCode)
                symbols = zxingcpp.read_barcodes(image, formats=qr)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"{label}: the image declares more pixels than a QR code picture needs "
                         f"({MAX_PIXELS // 1_000_000} million at most); crop or scale it down") from None
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError):  # Pillow's ways of saying "damaged"
        raise InputError(f"{label}: not an image lpa can read (PNG, JPEG, GIF, BMP, WebP), or damaged") from None
    texts = list(dict.fromkeys(symbol.text for symbol in symbols))
    codes = [text for text in texts if text.upper().startswith("LPA:")]
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        raise InputError(f"{label}: {len(codes)} different activation codes in the image; crop it to one")
    if texts:
        raise InputError(f"{label}: the QR code holds no activation code (it does not start with LPA:)")
    raise InputError(f"{label}: no QR code found; try a sharper or larger image")
