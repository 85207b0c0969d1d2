"""Images and their derivative targets on the pixel grid.

Conventions (the SIREN / ∂∞-Grid setup, with derivatives in the units of the field):

* An image is a ``(H, W)`` float64 array with values in ``[-1, 1]``: ``2 * v - 1`` for the
  intensity ``v`` in ``[0, 1]`` (``uint8`` divided by 255; not stretched to its own range).
* It is a function on ``[-1, 1]^2``: axis 0 of the array (rows, top to bottom) is coordinate
  ``x_0``, axis 1 (columns) is ``x_1``, and pixel centres sit at ``linspace(-1, 1, n)`` on each
  axis (SIREN's ``get_mgrid``), so the pixel spacing is ``h_k = 2 / (n_k - 1)``.
* Derivative targets are derivatives with respect to ``x`` (not pixel indices), so a field's
  analytic jet on ``[-1, 1]^2`` is compared with them directly:

  - gradient: ``scipy.ndimage.sobel(image, axis=k) / (8 h_k)``. The Sobel kernel is the
    central difference ``[-1, 0, 1]`` (twice the one-pixel slope) times the smoothing
    ``[1, 2, 1]`` (sum 4) across, so on a linear ramp it returns ``8`` times the slope per pixel;
  - Laplacian: ``sum_k (f[i+1] - 2 f[i] + f[i-1])_k / h_k^2`` (``scipy.ndimage.laplace`` in
    pixel units, scaled per axis).

  Both are second-order accurate on a smooth image. SIREN's code feeds the raw Sobel values
  (pixel units, times 8) to a field on ``[-1, 1]``; here the factor is explicit.
* The stencils are centred, so they are derivatives only at interior pixels;
  :func:`interior_mask` marks those, and only they supervise derivatives (the border pixels are
  still predicted and scored).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

__all__ = [
    "SAMPLES",
    "load_image",
    "check_image",
    "pixel_spacing",
    "pixel_coordinates",
    "sobel_gradient",
    "laplacian",
    "interior_mask",
]

SAMPLES = (
    "camera", "astronaut", "brick", "chelsea", "coffee", "coins", "grass", "gravel", "moon",
    "page", "text",
)  # fmt: skip
"""scikit-image samples :func:`load_image` accepts by name (colour ones are made grey)."""


def _read(source: str | os.PathLike) -> np.ndarray:
    """Intensities in ``[0, 1]``, ``(H, W)`` float64, of a sample name or an image file."""
    from PIL import Image
    from skimage import color, data, util

    if str(source) in SAMPLES:
        pixels = getattr(data, str(source))()
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"image {str(source)!r} is neither a file nor a scikit-image sample "
                f"({', '.join(SAMPLES)})"
            )
        try:
            with Image.open(path) as file:
                keep = file.mode in ("L", "I;16", "RGB", "RGBA")
                pixels = np.asarray(file if keep else file.convert("RGBA"))
        except OSError as error:  # not an image, or a format PIL cannot read
            raise ValueError(f"cannot read image file {path}: {error}") from None
    if pixels.ndim == 3 and pixels.shape[-1] == 4:
        pixels = color.rgba2rgb(pixels)
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        pixels = color.rgb2gray(pixels)
    return util.img_as_float64(pixels)


def load_image(source: str | os.PathLike, size: int | None = None) -> np.ndarray:
    """An image in ``[-1, 1]`` from a file (PNG, JPEG, TIFF, ...) or a scikit-image sample.

    Args:
        source: an 8- or 16-bit grey, RGB or RGBA file (PNG, JPEG, TIFF, ... read by Pillow;
            colour is made grey), or a name in :data:`SAMPLES` (e.g. ``"camera"``, 512 x 512).
        size: side of the square result: the image is centre-cropped to a square, then resized
            with anti-aliasing. ``None`` keeps it as it is.

    Returns:
        ``(H, W)`` float64 in ``[-1, 1]`` (see the module docstring).

    Raises:
        FileNotFoundError: ``source`` is neither a file nor a sample name.
        ValueError: an unreadable file, a bad ``size``.

    Example:
        >>> load_image("camera", size=256).shape
        (256, 256)
    """
    from skimage.transform import resize

    if size is not None and (not isinstance(size, int) or size < 3):
        raise ValueError(f"size must be an integer >= 3 (pixels per side), got {size!r}")
    intensity = _read(source)
    if size is not None:
        side = min(intensity.shape)
        top, left = (intensity.shape[0] - side) // 2, (intensity.shape[1] - side) // 2
        square = intensity[top : top + side, left : left + side]
        intensity = resize(square, (size, size), anti_aliasing=side > size).clip(0.0, 1.0)
    return check_image(2.0 * intensity - 1.0)


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as ``(H, W)`` float64, validated: finite, at least 3 x 3 pixels."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 2 or min(array.shape) < 3:
        raise ValueError(f"an image must have shape (H, W) with H, W >= 3, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("the image contains NaN or infinite values")
    return array


def pixel_spacing(shape: tuple[int, int]) -> tuple[float, float]:
    """``(h_0, h_1)``: distance between pixel centres along each axis, ``2 / (n_k - 1)``."""
    return tuple(2.0 / (n - 1) for n in shape)  # type: ignore[return-value]


def pixel_coordinates(shape: tuple[int, int], dtype: torch.dtype = torch.float32) -> Tensor:
    """``(H * W, 2)`` pixel centres in ``[-1, 1]^2``, row-major (the order of ``image.ravel()``);
    column 0 is the row coordinate ``x_0``, column 1 the column coordinate ``x_1``."""
    axes = [torch.linspace(-1.0, 1.0, n, dtype=torch.float64) for n in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return grid.reshape(-1, 2).to(dtype)


def sobel_gradient(image: np.ndarray) -> np.ndarray:
    """``(H, W, 2)`` Sobel estimate of ``(d/dx_0, d/dx_1)`` of ``image`` in ``x`` units.

    Args:
        image: ``(H, W)``; see the module docstring for the coordinates and the factor.
    """
    image = check_image(image)
    h = pixel_spacing(image.shape)
    return np.stack([ndimage.sobel(image, axis=k) / (8.0 * h[k]) for k in range(2)], axis=-1)


def laplacian(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` five-point estimate of ``d2/dx_0^2 + d2/dx_1^2`` of ``image`` in ``x`` units."""
    image = check_image(image)
    h = pixel_spacing(image.shape)
    stencil = np.array([1.0, -2.0, 1.0])
    return sum(ndimage.correlate1d(image, stencil, axis=k) / h[k] ** 2 for k in range(2))


def interior_mask(shape: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool: pixels whose 3 x 3 stencil lies inside the image (not the border)."""
    mask = np.zeros(shape, dtype=bool)
    mask[1:-1, 1:-1] = True
    return mask
