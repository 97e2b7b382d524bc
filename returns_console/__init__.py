"""Returns Console: reconcile e-commerce returns between a returns platform and an ERP."""

import os

__version__ = "0.1.0"

# Pydantic looks for plugins in every installed package's metadata the first time a model is
# built (tens of milliseconds at every start); the console uses none. A user who does can set
# PYDANTIC_DISABLE_PLUGINS themselves.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
