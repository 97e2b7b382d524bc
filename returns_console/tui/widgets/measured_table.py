"""A DataTable whose picture follows its column widths.

Textual 8.2.8's DataTable measures new rows on an idle pass (`_update_dimensions`) but keys
its line and row render caches on `_update_count`, which that pass does not change: a frame
drawn between `add_row` and the idle pass (a busy machine does it) stays in the cache with
every column cut to its header's width until something else moves the count. Bumping the
count after measuring makes the next frame use the measured widths."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class MeasuredTable(DataTable[Any]):
    """Styled as any DataTable (type selectors match subclasses)."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        self._update_count += 1
        self.refresh()
