"""Images from derivatives: fit a field to an image's values, Sobel gradients or Laplacian.

The SIREN / ∂∞-Grid experiment: an image in ``[-1, 1]`` on ``[-1, 1]^2`` is reconstructed from
its gradients (or Laplacian) alone, the free constant (affine part) is fixed by least squares,
and PSNR / SSIM are reported.

>>> import smoothgrid as sg
>>> image = sg.apps.image.load_image("camera", size=256)
>>> result = sg.apps.image.fit_image(image, "gradient", time_budget=60)  # doctest: +SKIP
>>> result.metrics["psnr"]                                              # doctest: +SKIP

Command line: ``smoothgrid image camera --supervise gradient --size 256 --time 60``.
"""

from .data import (
    SAMPLES,
    interior_mask,
    laplacian,
    load_image,
    pixel_coordinates,
    pixel_spacing,
    sobel_gradient,
)
from .fit import ImageResult, fit_image, image_field, image_grid
from .metrics import SUPERVISION, fix_free_part, image_metrics, markdown_table, psnr, ssim
from .plots import plot_comparison, save_image

__all__ = [
    "SAMPLES",
    "SUPERVISION",
    "ImageResult",
    "fit_image",
    "image_field",
    "image_grid",
    "load_image",
    "pixel_coordinates",
    "pixel_spacing",
    "sobel_gradient",
    "laplacian",
    "interior_mask",
    "fix_free_part",
    "image_metrics",
    "psnr",
    "ssim",
    "markdown_table",
    "plot_comparison",
    "save_image",
]
