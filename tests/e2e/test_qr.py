"""`lpa download --qr`: the activation code read from a QR code image (zxing-cpp), made here with segno."""
from __future__ import annotations

import sys

import pytest

from helpers import TS48_ICCID as ICCID
from helpers import TS48_PROFILE as PROFILE

pytestmark = pytest.mark.download
segno = pytest.importorskip("segno")


def qr_image(path, *texts: str, scale: int = 6):
    """A PNG holding one QR code per text, side by side, as a screenshot of several codes would."""
    from PIL import Image

    symbols = []
    for i, text in enumerate(texts):
        one = path.with_name(f"{path.stem}-{i}.png")
        segno.make(text, micro=False).save(one, scale=scale, border=4)
        symbols.append(Image.open(one).convert("L"))
    sheet = Image.new("L", (sum(s.width for s in symbols), max(s.height for s in symbols)), 255)
    x = 0
    for symbol in symbols:
        sheet.paste(symbol, (x, 0))
        x += symbol.width
    sheet.save(path)
    return str(path)


def test_a_qr_code_image_downloads_like_the_code_itself(lpa, smdpp, sim_state, tmp_path):
    image = qr_image(tmp_path / "code.png", f"LPA:1${smdpp.address}${PROFILE}")
    result = lpa("download", "--qr", image, "--yes")
    assert result.exit_code == 0, result.output
    assert sim_state().find(iccid=ICCID) is not None


def test_the_activation_code_is_picked_among_other_qr_codes(lpa, smdpp, sim_state, tmp_path):
    image = qr_image(tmp_path / "page.png", "https://example.com/help", f"LPA:1${smdpp.address}${PROFILE}")
    assert lpa("download", "--qr", image, "--yes").exit_code == 0
    assert sim_state().find(iccid=ICCID) is not None


@pytest.mark.parametrize("texts,message", [
    ((), "no QR code found"),
    (("WIFI:S:lab;T:WPA;P:secret;;",), "holds no activation code"),
    (("LPA:1$a.example$ONE", "LPA:1$b.example$TWO"), "2 different activation codes"),
])
def test_images_without_exactly_one_activation_code_are_refused(lpa, sim_state, tmp_path, texts, message):
    image = str(tmp_path / "blank.png")
    if texts:
        image = qr_image(tmp_path / "image.png", *texts)
    else:
        from PIL import Image
        Image.new("L", (200, 200), 255).save(image)
    result = lpa("download", "--qr", image, "--yes")
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_that_is_not_an_image_is_refused(lpa, tmp_path):
    path = tmp_path / "code.txt"
    path.write_text("LPA:1$a.example$X")
    result = lpa("download", "--qr", str(path), "--yes")
    assert result.exit_code == 2 and "not an image lpa can read (PNG, JPEG, GIF, BMP, WebP), or damaged" in result.output


def test_without_the_qr_extra_the_user_is_told_what_to_install(lpa, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    image = qr_image(tmp_path / "code.png", "LPA:1$a.example$X")
    result = lpa("download", "--qr", image, "--yes")
    assert result.exit_code == 2 and "pip install '.[qr]' in lpa's checkout" in result.output
