"""The one place matplotlib is set up, for every figure edgeseq draws (the report's, the sweep's, `bench
--scaling`'s, `drift`'s and `quant-debug`'s).

  pyplot()              matplotlib.pyplot on the headless Agg backend (set once, on the first call)
  png(fig, ...)         the figure as PNG bytes, and the figure closed
  require_matplotlib()  raise RuntimeUnavailable with the install hint when matplotlib is missing: a command
                        that will draw calls it before its work, not after

Importing this module imports no matplotlib: only drawing does.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from edgeseq.core.errors import RuntimeUnavailable

INSTALL_HINT = "pip install 'edgeseq[report]'"
DPI = 120                                  # the report's figures; drift and quant-debug draw at 100


@functools.cache
def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (no display needed)."""
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"plots need matplotlib: {INSTALL_HINT}") from err
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def require_matplotlib() -> None:
    """Fail now, in one line with the install hint, if matplotlib is missing (and set it up if it is not)."""
    pyplot()


def png(fig: Any, dpi: int = DPI, tight: bool = True) -> bytes:
    """The figure as PNG bytes, the figure closed (`tight`: cropped to what is drawn, outside legends in)."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    pyplot().close(fig)
    return out.getvalue()
