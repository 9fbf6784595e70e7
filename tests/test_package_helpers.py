"""The small helpers the chapters share: digits as RGB, tick labels, noise."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from advbook import images, plots  # noqa: E402


def test_digits_as_rgb_takes_flat_or_shaped_digits():
    flat = np.linspace(0, 1, 2 * 64).reshape(2, 64)
    rgb = plots.digits_as_rgb(flat)
    assert rgb.shape == (2, 8, 8, 3)
    assert np.allclose(rgb[..., 0], flat.reshape(2, 8, 8) * 255)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])  # grey: equal channels
    assert np.array_equal(plots.digits_as_rgb(flat.reshape(2, 8, 8, 1)), rgb)


def test_curves_labels_the_x_values_given_as_ticks():
    x = np.array([0.5, 1, 2, 4, 16])
    fig = plots.curves(x, {"rate": x / 16}, logx=True, xticks=x)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2", "4", "16"]
    assert len(ax.xaxis.get_minorticklocs()) == 0  # no unlabelled ticks between
    plain = plots.curves(x, {"rate": x / 16}, logx=True)
    assert len(plain.axes[0].xaxis.get_minorticklocs()) > 0


def test_noise_images_draw_one_clipped_image_per_pair():
    pairs = [(50, 10), (250, 90)]
    noise = images.noise_images(pairs, 16, np.random.default_rng(0))
    assert noise.shape == (2, 16, 16, 3) and noise.dtype == np.float32
    assert noise.min() >= 0 and noise.max() <= 255
    assert abs(noise[0].mean() - 50) < 3 and noise[1].max() == 255  # clipped
    again = images.noise_images(pairs, 16, np.random.default_rng(0))
    assert np.array_equal(noise, again)  # the rng decides, nothing else
