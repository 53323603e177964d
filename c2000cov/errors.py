"""Error hierarchy of c2000cov.

One root, :class:`C2000CovError`; every subclass also inherits the matching
built-in exception (as rasterio does), so callers can catch either.
Messages name the input, the value, what was expected and the fix, e.g.
``masts.csv row 7: h_agl_m must be > 0, got -3``.
"""

from __future__ import annotations

import warnings


def one_line(text: str) -> str:
    """``text`` with control characters (newlines, tabs, escapes) written as ``\\n``,
    ``\\t``, ``\\x1b``: a value quoted from a hostile file cannot break a message into
    several lines or drive the terminal."""
    if all(32 <= ord(ch) != 127 for ch in text):
        return text
    return "".join(ch if 32 <= ord(ch) != 127 else repr(ch)[1:-1] for ch in text)


class C2000CovError(Exception):
    """Root of every error that c2000cov raises on purpose; its message is one line."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class InvalidInputError(C2000CovError, ValueError):
    """An input value, file content or option is wrong."""


class InputNotFoundError(C2000CovError, FileNotFoundError):
    """An input file named by the user does not exist."""


class ScenarioError(InvalidInputError):
    """A scenario file has an unknown, missing or wrong-typed key."""


class CRSError(InvalidInputError):
    """A dataset lacks a CRS or has one that cannot be used."""


class DeviceUnavailableError(C2000CovError, RuntimeError):
    """The processor asked for (``[model] device = "gpu"``) cannot run the computation."""


class OutsideValidityWarning(UserWarning):
    """An input lies outside the stated validity range of a model."""


def warn_outside_validity(message: str) -> None:
    """Emit an :class:`OutsideValidityWarning` pointing at the caller's caller."""
    warnings.warn(message, OutsideValidityWarning, stacklevel=3)

