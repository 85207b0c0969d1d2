"""Images from values and derivatives (``smoothgrid.apps.image``, ``smoothgrid image``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps import image as im
from smoothgrid.cli import main


def smooth(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f = 0.5 sin(3 x0 + 1) cos(2 x1) + 0.4 exp(-|x - c|^2 / 0.1) - 0.2`` on the pixel grid:
    the image ``(H, W)``, its exact gradient ``(H, W, 2)`` and Laplacian ``(H, W)``."""
    x = im.pixel_coordinates(shape, torch.float64).numpy()
    a, b = x[:, 0], x[:, 1]
    s, c = np.sin(3 * a + 1), np.cos(2 * b)
    r2 = (a - 0.3) ** 2 + (b + 0.2) ** 2
    g = 0.4 * np.exp(-r2 / 0.1)
    f = 0.5 * s * c + g - 0.2
    grad = np.stack([1.5 * np.cos(3 * a + 1) * c - g * 2 * (a - 0.3) / 0.1,
                     -np.sin(2 * b) * s - g * 2 * (b + 0.2) / 0.1], axis=-1)  # fmt: skip
    lap = -6.5 * s * c + g * ((2 / 0.1) ** 2 * r2 - 4 / 0.1)
    return f.reshape(shape), grad.reshape(*shape, 2), lap.reshape(shape)


def test_pixel_coordinates_follow_the_array_axes():
    x = im.pixel_coordinates((3, 5))
    assert x.shape == (15, 2)
    assert x[0].tolist() == [-1.0, -1.0] and x[-1].tolist() == [1.0, 1.0]
    assert x[1].tolist() == [-1.0, -0.5]  # next column: x_1 moves by h_1 = 2 / 4
    assert im.pixel_spacing((3, 5)) == (1.0, 0.5)


def test_gradient_targets_are_derivatives_in_domain_units():
    # Sobel / (8 h) is a second-order estimate of df/dx on [-1, 1]^2: with h = 2/127 the error
    # is ~1e-3 of the scale; a wrong factor (pixel units, n instead of n - 1, ...) is >= 1e-2.
    image, grad, lap = smooth((128, 128))
    inside = im.interior_mask(image.shape)
    estimate = im.sobel_gradient(image)
    err = np.abs(estimate - grad)[inside].max() / np.abs(grad).max()
    assert err < 3e-3
    err = np.abs(im.laplacian(image) - lap)[inside].max() / np.abs(lap).max()
    assert err < 3e-3
    ramp = np.tile(np.linspace(-1.0, 1.0, 7), (9, 1))  # f = x_1 exactly
    assert np.allclose(im.sobel_gradient(ramp)[1:-1, 1:-1], [0.0, 1.0])


def test_free_part_fix_is_exact():
    image, _, _ = smooth((16, 20))
    x = im.pixel_coordinates(image.shape, torch.float64).numpy()
    affine = (0.3 - 0.2 * x[:, 0] + 0.7 * x[:, 1]).reshape(image.shape)
    fixed = im.fix_free_part(image + affine, image, "laplacian")
    assert np.abs(fixed - image).max() < 1e-12
    assert np.abs(im.fix_free_part(image + 0.4, image, "gradient") - image).max() < 1e-12
    # a gradient fit is free only in its constant: a tilt stays an error
    assert im.psnr(im.fix_free_part(image + affine, image, "gradient"), image) < 25
    assert im.fix_free_part(image + 0.4, image, "value") is not image
    assert im.psnr(image, image) == float("inf") and im.ssim(image, image) == pytest.approx(1.0)
    assert im.psnr(image + 0.02, image) == pytest.approx(20 * np.log10(2 / 0.02))


def fit(supervise: str, steps: int):
    image, _, _ = smooth((32, 32))
    return im.fit_image(image, supervise, steps=steps, batch=256, seed=0)


def test_image_from_gradients_and_values():
    # A smooth image is an easy integral: its gradients give ~53 dB in 150 steps here. The bound
    # 35 dB (RMS error 0.036 on a range of 2) is far below that and far above what a target off
    # by a factor gives (this image scaled by 2: 17 dB, by 1/2: 23 dB, even with the mean fixed).
    from_gradient = fit("gradient", 150)
    assert from_gradient.metrics["psnr"] > 35.0
    assert from_gradient.metrics["psnr_raw"] < from_gradient.metrics["psnr"]
    assert from_gradient.metrics["ssim"] > 0.95
    from_values = fit("value", 150)
    assert from_values.metrics["psnr"] > from_gradient.metrics["psnr"]
    assert from_values.metrics["psnr"] == from_values.metrics["psnr_raw"]


def test_image_from_laplacian_runs():
    result = fit("laplacian", 20)
    m = result.metrics
    assert m["steps"] == 20 and np.isfinite(m["psnr"]) and m["psnr"] >= m["psnr_raw"]
    assert result.prediction.shape == (32, 32) and result.field.encoding.name == "hermite"


def test_siren_baseline_fits_with_its_backend():
    image, _, _ = smooth((16, 16))
    result = im.fit_image(image, "gradient", method="siren", steps=3, batch=64)
    assert result.field.derivatives == "autograd" and result.metrics["method"] == "siren"


def test_image_grid_is_sized_to_the_image():
    grid = im.image_grid((512, 512))
    assert grid["max_res"] == 512 and grid["levels"] == 7 and grid["log2_table"] == 19
    assert sg.apps.image.image_field("hermite", (32, 32)).encoding.resolutions[-1] == 32


def test_load_sample_and_file(tmp_path):
    camera = im.load_image("camera", size=24)
    assert camera.shape == (24, 24) and camera.min() >= -1 and camera.max() <= 1
    path = tmp_path / "ramp.png"
    im.save_image(np.tile(np.linspace(-1, 1, 10), (6, 1)), path)
    loaded = im.load_image(path)
    assert loaded.shape == (6, 10) and loaded[0, 0] == -1.0 and loaded[0, -1] == 1.0


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a file nor"):
        im.load_image("cameraa")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        im.load_image(bad)
    with pytest.raises(ValueError, match="unknown supervision"):
        im.fit_image(np.zeros((8, 8)), "hessian", steps=1)
    with pytest.raises(ValueError, match="exactly one"):
        im.fit_image(np.zeros((8, 8)), "value")
    with pytest.raises(ValueError, match="shape"):
        im.fit_image(np.zeros(8), "value", steps=1)


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["image", "camera", "--size", "16", "--steps", "3", "--batch", "64", "--no-progress"]
    assert main([*args, "--method", "hermite", "siren", "--out", str(out)]) == 0
    assert "| hermite | gradient | 16x16 |" in capsys.readouterr().out
    for method in ("hermite", "siren"):
        metrics = json.loads((out / method / "metrics.json").read_text())
        assert metrics["steps"] == 3 and metrics["method"] == method
        assert (out / method / "comparison.png").stat().st_size > 0
        assert (out / method / "prediction.png").is_file()
    assert (out / "results.md").is_file()


def test_cli_bad_input(tmp_path, capsys):
    assert main(["image", "camra", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'camera'" in capsys.readouterr().err
    assert main(["image", "camera", "--method", "hermit", "--out", str(tmp_path)]) == 2
    assert main(["image", "camera", "--supervise", "hessian"]) == 2


def test_interrupted_fit_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    truth = im.load_image("camera", 32)
    kwargs = dict(steps=20, batch=256, seed=3)
    whole = im.fit_image(truth, "gradient", out=tmp_path / "whole", **kwargs)
    original = sg.train.Loop._interrupted

    def interrupted_at_7(loop):
        return original(loop) or loop.state.step + 1 >= 7

    monkeypatch.setattr(sg.train.Loop, "_interrupted", interrupted_at_7)
    with pytest.raises(KeyboardInterrupt):
        im.fit_image(truth, "gradient", out=tmp_path / "split", **kwargs)
    monkeypatch.setattr(sg.train.Loop, "_interrupted", original)
    resumed = im.fit_image(truth, "gradient", out=tmp_path / "split", resume=True, **kwargs)
    assert resumed.metrics["steps"] == 20 and resumed.metrics["psnr"] == whole.metrics["psnr"]
    for a, b in zip(whole.field.parameters(), resumed.field.parameters()):
        assert torch.equal(a, b)
