"""A one-line input box whose typing repaints the box and nothing else.

Textual's Input sets its virtual size to the width of its text on every keystroke, and
`virtual_size` is a layout reactive: each key re-arranged every widget on the screen (about
20 ms on the queue screen, a third of a filter keystroke). An input's own size never
depends on its text (its width and height come from the stylesheet), and it scrolls its
text itself, so here the same value is kept without the layout pass.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class QuietInput(Input):
    """An `Input` (same bindings, messages and styles) that does not lay out per key."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
