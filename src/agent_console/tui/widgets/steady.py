"""Inputs with a steady cursor.

A blinking cursor repaints twice a second: bytes on every idle second over SSH, and a
screen that never holds still for a snapshot. The console's cursors do not blink.
"""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Input


class SteadyInput(Input):
    cursor_blink = reactive(False, init=False)
