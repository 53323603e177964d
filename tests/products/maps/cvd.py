"""Colour-vision deficiency simulation and colour difference, for palette tests.

Simulation: Machado, Oliveira and Fernandes (2009), "A Physiologically-based
Model for Simulation of Color Vision Deficiency", IEEE TVCG 15(6), matrices
for severity 1.0 (dichromacy), applied to linear sRGB. Colour difference:
CIE 1976 ΔE*ab in CIELAB (D65).
"""

from __future__ import annotations

import itertools

import numpy as np

MACHADO_2009 = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                         [0.0193, 0.1192, 0.9505]])
_D65 = np.array([0.95047, 1.0, 1.08883])


def to_linear(rgb) -> np.ndarray:
    """sRGB 0-255 to linear 0-1."""
    c = np.asarray(rgb, dtype=float) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_lab(linear) -> np.ndarray:
    """Linear sRGB 0-1 to CIELAB (D65)."""
    xyz = (_SRGB_TO_XYZ @ np.clip(linear, 0.0, 1.0)) / _D65
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.array([116.0 * f[1] - 16.0, 500.0 * (f[0] - f[1]), 200.0 * (f[1] - f[2])])


def simulated_lab(rgb, vision: str) -> np.ndarray:
    """CIELAB of an sRGB colour as seen with ``vision``."""
    return to_lab(MACHADO_2009[vision] @ to_linear(rgb))


def composite(rgba, background=(255, 255, 255)) -> np.ndarray:
    """An RGBA colour (alpha 0-1) drawn over an opaque background."""
    r, g, b, a = rgba
    return a * np.array([r, g, b], float) + (1 - a) * np.asarray(background, float)


def adjacent_delta_e(colours: list, vision: str) -> list[float]:
    """ΔE*ab between neighbouring bins of a palette, as seen with ``vision``."""
    labs = [simulated_lab(c, vision) for c in colours]
    return [float(np.linalg.norm(a - b)) for a, b in itertools.pairwise(labs)]
