"""The REST API.

pecan, when first imported, imports Mako's HTML error pages (for its debug
middleware and Mako renderer), which import Pygments to highlight the
code they show: 4 MiB in every API process, for an API that answers JSON
only. Pygments is hidden while pecan is imported (Mako then escapes
rather than highlights), and so are the template engines pecan would try
besides; whoever else needs them imports them as usual.
"""

import sys

_UNUSED = ('genshi', 'kajiki', 'pygments')


def _import_pecan_without_pygments() -> None:
    hidden = [name for name in _UNUSED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # an import of it raises ImportError
    try:
        import pecan  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


if 'pecan' not in sys.modules:
    _import_pecan_without_pygments()
