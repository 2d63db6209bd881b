"""Hostile files: only regular files are read (a FIFO or a device is refused in one line, never waited on),
images are bounded before they are decoded, and each refusal is one line with exit 2."""
from __future__ import annotations

import os
import subprocess

import pytest

from helpers import lpa_executable
from hostility import png


def _one_line_refusal(args, *expected, timeout=20):
    result = subprocess.run([lpa_executable(), *args], capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1 and result.stderr.startswith("lpa: ")
    for text in expected:
        assert text in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("width,height", [(30000, 30000), (100000, 1000)])
def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(state_path, tmp_path, width, height):
    pytest.importorskip("PIL")
    path = tmp_path / "bomb.png"
    path.write_bytes(png(width, height))
    _one_line_refusal(["--sim", "--sim-state", str(state_path), "download", "--qr", str(path), "--yes"],
                      "more pixels than a QR code picture needs", "crop or scale it down")


def test_a_fifo_given_as_qr_image_is_refused_not_waited_on(state_path, tmp_path):
    pytest.importorskip("PIL")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    _one_line_refusal(["--sim", "--sim-state", str(state_path), "download", "--qr", str(fifo), "--yes"],
                      "is a named pipe, not an image; give a regular file")


def test_a_device_given_as_qr_image_is_refused(state_path):
    pytest.importorskip("PIL")
    _one_line_refusal(["--sim", "--sim-state", str(state_path), "download", "--qr", "/dev/zero", "--yes"],
                      "/dev/zero is a device, not an image")


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_sim_state_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    path = "/dev/zero"
    if kind == "fifo":
        path = str(tmp_path / "state.json")
        os.mkfifo(path)
    _one_line_refusal(["--sim", "--sim-state", path, "list"], "not a regular file")
    assert not os.path.exists(path + ".lock") or kind == "fifo" and not os.path.exists(path + ".lock")


def test_an_export_file_that_is_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "n.json"
    os.mkfifo(fifo)
    _one_line_refusal(["notifications", "send", str(fifo)], "is a named pipe, not a notification export")


def test_a_damaged_image_names_no_python_class(lpa, tmp_path):
    pytest.importorskip("PIL")
    path = tmp_path / "cut.png"
    path.write_bytes(png(100, 100)[:30])
    result = lpa("download", "--qr", str(path), "--yes")
    assert result.exit_code == 2 and "Error" not in result.output and "damaged" in result.output
