"""Matplotlib figures for HTML pages: the Agg canvas (no pyplot state) and PNGs without
date or software metadata, so the same data gives the same bytes."""

from __future__ import annotations

import base64
import io

#: Default resolution of embedded figures (dots per inch).
PLOT_DPI = 100


def figure(width_in: float, height_in: float, dpi: float = PLOT_DPI):
    """A matplotlib figure on the Agg canvas (no pyplot state), ``dpi`` dots per inch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig, dpi: float = PLOT_DPI) -> str:
    """Render a figure as PNG without date or software metadata; base64 text."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")
