"""The console's terminal driver: Textual's Linux driver that survives the terminal hanging up.

Textual writes to the terminal from a thread that takes text off a queue of 30. When an SSH
link drops, the terminal is gone and a write raises (EIO): that thread ends, the queue fills,
and the next write blocks the event loop forever, so the console never saves the draft nor
exits (seen: the hang-up test's console stuck for minutes in `Queue.put` while shutting
down). Here the writer drops what it cannot write once the terminal has gone and goes on
taking text until it is stopped, so the shutdown (draft saved, children stopped) runs.
"""

from __future__ import annotations

import logging

from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver

log = logging.getLogger("agent_console.tui")


class _HangUpSafeWriter(WriterThread):
    def run(self) -> None:
        try:
            super().run()
        except (OSError, ValueError) as exc:  # EIO after a hang-up; ValueError: file closed
            log.warning("the terminal went away (%s); output dropped from now on", exc)
            while self._queue.get() is not None:  # keep taking writes until stop()
                pass


class ConsoleDriver(LinuxDriver):
    def start_application_mode(self) -> None:
        super().start_application_mode()
        # Textual started its own writer: put ours in its place (what it queued goes out first).
        started = self._writer_thread
        writer = _HangUpSafeWriter(self._file)
        writer.start()
        self._writer_thread = writer
        if started is not None:
            started.stop()
