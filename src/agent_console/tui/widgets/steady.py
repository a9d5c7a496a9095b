"""Inputs with a steady cursor.

A blinking cursor repaints twice a second: bytes on every idle second over SSH, and a
screen that never holds still for a snapshot. The console's cursors do not blink.

Nor does a keystroke lay out the screen: Input sets its virtual size (the text's width) on
every change, and that reactive asks for a layout pass of the whole screen (under a modal,
of the screen behind it too), ~10 ms of CPU per key in the KB search and the queue filter.
An input scrolls its text itself and shows no scrollbar, so nothing else depends on it.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive, reactive
from textual.widgets import Input


class SteadyInput(Input):
    cursor_blink = reactive(False, init=False)
    virtual_size = Reactive(Size(0, 0), layout=False)
