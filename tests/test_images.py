"""advbook.images: the sample registry, colour handling and bad input."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from advbook import images
from advbook.errors import ImageLoadError, InvalidArgument


@pytest.mark.parametrize("name", images.sample_names())
def test_every_sample_loads_as_rgb_0_255(name):
    x = images.load_image(name, size=(224, 224))
    assert x.shape == (224, 224, 3)
    assert x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 255
    assert x.std() > 5, "a real photo is not flat"


def test_samples_are_read_from_their_installed_package():
    for name in images.sample_names():
        path = images.sample_path(name)
        assert "site-packages" in str(path) or "dist-packages" in str(path)


def test_required_samples_are_registered():
    required = {"coffee", "chelsea", "rocket", "astronaut",
                "motorcycle_left", "grace_hopper"}
    assert required <= set(images.sample_names())


def test_native_size_and_aspect_preserving_crop():
    native = images.load_image("coffee", size=None)
    assert native.shape == (400, 600, 3)
    wide = images.load_image("coffee", size=(100, 300))
    assert wide.shape == (100, 300, 3)


def test_centre_crop_keeps_the_middle(tmp_path):
    # Left third red, middle green, right third blue: a square crop of a
    # 3:1 image must keep only the green middle.
    rgb = np.zeros((30, 90, 3), np.uint8)
    rgb[:, :30, 0] = rgb[:, 30:60, 1] = rgb[:, 60:, 2] = 255
    Image.fromarray(rgb).save(tmp_path / "bands.png")
    x = images.load_image(tmp_path / "bands.png", size=30)
    assert np.allclose(x[..., 1], 255) and x[..., 0].max() < 1 and x[..., 2].max() < 1


def test_grayscale_becomes_three_equal_channels():
    x = images.load_image("camera", size=64)
    assert np.array_equal(x[..., 0], x[..., 1])
    assert np.array_equal(x[..., 1], x[..., 2])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, :] = (255, 0, 0, 255)  # opaque red top half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "half.png")
    x = images.load_image(tmp_path / "half.png", size=None)
    assert np.allclose(x[:4], (255, 0, 0))
    assert np.allclose(x[4:], 255)  # fully transparent -> white


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.paste(1, (0, 0, 4, 2))
    image.save(tmp_path / "pal.png", transparency=0)
    x = images.load_image(tmp_path / "pal.png", size=None)
    assert np.allclose(x[:2], (10, 200, 30)) and np.allclose(x[2:], 255)


def test_16bit_grayscale_is_scaled_to_255(tmp_path):
    ramp = np.array([[0, 32896, 65535]], np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    x = images.load_image(tmp_path / "deep.png", size=None)
    assert x[0, :, 0].tolist() == [0, 128, 255]


def _png_48bit(path, rgb16):
    """Write a 16-bit-per-channel RGB PNG, which Pillow cannot save."""
    h, w, _ = rgb16.shape
    rows = b"".join(b"\x00" + rgb16[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_16bit_rgb_is_scaled_to_255(tmp_path):
    rgb16 = np.full((2, 2, 3), 65535, np.uint16)
    rgb16[0, 0] = (0, 32896, 65535)
    _png_48bit(tmp_path / "rgb48.png", rgb16)
    x = images.load_image(tmp_path / "rgb48.png", size=None)
    assert x[0, 0].tolist() == [0, 128, 255] and x[1, 1].tolist() == [255] * 3


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert images.load_image(tmp_path / "rotated.jpg", size=None).shape == (40, 20, 3)


# ---- bad input: each error names the file or value and says what to do


def _assert_names(err, text):
    assert text in str(err.value), str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "nope.jpg")
    _assert_names(err, "nope.jpg")


def test_directory(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path)
    _assert_names(err, "folder")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("this is text, not a JPEG")
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "notes.jpg")
    _assert_names(err, "notes.jpg")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "empty.png")
    _assert_names(err, "empty.png")


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(images.load_image("coffee", None).astype(np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "cut.jpg")
    _assert_names(err, "cut.jpg")


def test_zero_size_png(tmp_path):
    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF)
    (tmp_path / "zero.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + crc)
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "zero.png")
    _assert_names(err, "zero.png")


def test_huge_image_is_refused_before_decoding(tmp_path):
    side = int(images.MAX_PIXELS ** 0.5) + 100
    Image.new("L", (side, side)).save(tmp_path / "bomb.png", optimize=False)
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "bomb.png")
    _assert_names(err, "bomb.png")
    _assert_names(err, f"{images.MAX_PIXELS:,}")


def test_float_tiff_is_refused(tmp_path):
    Image.fromarray(np.ones((4, 4), np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(ImageLoadError) as err:
        images.load_image(tmp_path / "f.tiff")
    _assert_names(err, "f.tiff")


def test_unknown_sample_lists_the_known_ones():
    with pytest.raises(ImageLoadError) as err:
        images.load_image("cofee")
    _assert_names(err, "cofee")
    _assert_names(err, "coffee")


@pytest.mark.parametrize("size", [0, (-1, 5), "big", (10,)])
def test_bad_size(size):
    with pytest.raises(InvalidArgument):
        images.load_image("coffee", size=size)


# ---- check_images: arrays handed to models and attacks


def test_check_images_accepts_a_batch():
    batch = np.stack([images.load_image("coffee", 32)] * 2)
    assert images.check_images(batch).dtype == np.float32
    assert images.check_images(batch.astype(np.uint8)).shape == (2, 32, 32, 3)


@pytest.mark.parametrize("bad, words", [
    (np.zeros((32, 32, 3)), "batch axis"),
    (np.zeros((1, 32, 32, 4)), "(N, H, W, 3)"),
    (np.zeros((0, 32, 32, 3)), "empty"),
    (np.full((1, 2, 2, 3), np.nan), "NaN"),
    (np.full((1, 2, 2, 3), 300.0), "outside 0-255"),
    (np.full((1, 2, 2, 3), -1.0), "outside 0-255"),
    (np.linspace(0, 1, 12).reshape(1, 2, 2, 3), "multiply by 255"),
    (np.zeros((1, 2, 2, 3), bool), "dtype"),
    (np.zeros((1, 2, 2, 3), complex), "dtype"),
])
def test_check_images_rejects(bad, words):
    with pytest.raises(InvalidArgument) as err:
        images.check_images(bad)
    _assert_names(err, words)
