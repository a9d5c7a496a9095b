"""A minimal Textual app holding the P3 rows in one table widget, for the peer comparison.

    python -m bench.peer_table KIND ROWS_FILE

KIND is `datatable` (Textual's DataTable), `fastdatatable` (textual-fastdatatable, Arrow
backed) or `queuelist` (agent-console's own QueueList, without the network and the rest of
the console). ROWS_FILE is JSON written by bench.p3_scale: display rows for the tables,
conversations for the QueueList. It is read before the app starts; the timed part is the
same for every kind: the first frame shows "PEER MOUNTED", then the rows are handed to
the widget, and the benchmark waits for the first row on the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

COLUMNS = ["SLA", "P", "chan", "customer", "la", "subject / last message", "assignee", "new"]


def main(kind: str, rows_file: str) -> int:
    import msgspec
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    raw = Path(rows_file).read_bytes()
    if kind == "queuelist":
        from agent_console.core.models import Conversation

        conversations = msgspec.json.decode(raw, type=list[Conversation])
        rows: list = []
    else:
        rows = msgspec.json.decode(raw, type=list[tuple[str, ...]])
        conversations = []

    class Peer(App[None]):
        CSS = "#title { height: 1; } #holder { height: 1fr; }"

        def compose(self) -> ComposeResult:
            from textual.containers import Vertical

            yield Static("PEER MOUNTED", id="title")
            yield Vertical(id="holder")

        def on_mount(self) -> None:
            self.call_after_refresh(self.load)

        async def load(self) -> None:
            holder = self.query_one("#holder")
            if kind == "datatable":
                from textual.widgets import DataTable

                table = DataTable(cursor_type="row")
                table.add_columns(*COLUMNS)
                table.add_rows(rows)
                await holder.mount(table)
            elif kind == "fastdatatable":
                from textual_fastdatatable import ArrowBackend
                from textual_fastdatatable import DataTable as FastDataTable

                backend = ArrowBackend.from_records(rows, column_names=COLUMNS)
                table = FastDataTable(backend=backend, cursor_type="row")
                await holder.mount(table)
            elif kind == "queuelist":
                from agent_console.tui.widgets.queue_list import QueueList

                by_id = {c.id: c for c in conversations}
                table = QueueList(by_id.get)
                await holder.mount(table)
                table.set_rows([c.id for c in conversations])
            else:
                raise SystemExit(f"unknown kind {kind!r}")
            table.focus()

    Peer().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
