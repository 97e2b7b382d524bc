"""Returns Console: reconcile e-commerce returns between a returns platform and an ERP."""

import os
import sys
import types

__version__ = "0.1.0"

# Pydantic looks for plugins in every installed package's metadata the first time a model is
# built (tens of milliseconds at every start); the console uses none. A user who does can set
# PYDANTIC_DISABLE_PLUGINS themselves.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true") \
        and "pydantic.plugin._loader" not in sys.modules:
    # ...and its plugin loader imports importlib.metadata (with email and zipfile: 20-30 ms)
    # before it reads that setting; with every plugin off, it has nothing to load.
    _no_plugins = types.ModuleType("pydantic.plugin._loader")
    _no_plugins.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules["pydantic.plugin._loader"] = _no_plugins


def _httpx_cli(*args: object, **kwargs: object) -> object:
    """httpx's command line, loaded only when someone runs it (as httpx would load it)."""
    if sys.modules.get("httpx._main") is _stand_in:
        sys.modules.pop("httpx._main", None)
    try:
        from httpx._main import main
    except ImportError:
        raise SystemExit("The httpx command line client could not run because the required "
                         "dependencies were not installed.\nMake sure you've installed "
                         "everything with: pip install 'httpx[cli]'") from None
    return main(*args, **kwargs)


# httpx's package imports its own command-line tool when it is imported, and with it rich's
# console and pygments (60-90 ms at every start, before anything is read); this program never
# runs httpx's command line, so the module stands in until someone does.
if "httpx" not in sys.modules:
    _stand_in = types.ModuleType("httpx._main")
    _stand_in.main = _httpx_cli  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", _stand_in)
