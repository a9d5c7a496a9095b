"""`D`: the desk's KPIs for whoever runs the shift: headline figures, charts by hour of day and
the share of each team and agent, refreshed in place.

The charts are block characters (core/kpis.py), not plotext: a few lines of text that fit 80
columns, cost a few hundred bytes over SSH, and redraw like any other text. Each refresh
updates only the parts whose text changed, in place: nothing is cleared or remounted, so
nothing flickers, and an unchanged answer sends no bytes. Over SSH (low bandwidth) it asks
the server every five minutes instead of every minute.

Names of teams and agents come from the server: untrusted, so they are sanitized and drawn
as plain Text, never as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from agent_console.core.kpis import chart_lines, duration_text, group_name, summary_lines
from agent_console.core.models import Stats, Team
from agent_console.core.sanitize import sanitize_line
from agent_console.tui.widgets.key_bar import KeyBar

PERIODS: tuple[tuple[str, timedelta], ...] = (
    ("last 7 days", timedelta(days=7)),
    ("last 30 days", timedelta(days=30)),
    ("last 24 hours", timedelta(hours=24)),
)
REFRESH = 60.0
REFRESH_LOW_BANDWIDTH = 300.0


class DashboardScreen(Screen[None]):
    DEFAULT_CSS = """
    DashboardScreen #dash-title { height: 1; padding: 0 1; background: $boost; }
    DashboardScreen #dash-body { padding: 0 1; }
    DashboardScreen #dash-body > Static { height: auto; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("p", "period", "Period", id="dashboard.period"),
        Binding("t", "team", "Team", id="dashboard.team"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("escape,q", "close", "Back", id="dashboard.close"),
    ]

    def __init__(self, backend: Any, *, teams: list[Team], low_bandwidth: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.teams = list(teams)
        self.low_bandwidth = low_bandwidth
        self.period = 0
        self.team: Team | None = None
        self.stats: Stats | None = None
        self.error: str | None = None
        self.updated: datetime | None = None
        self.loads = 0  # answers shown (tests wait on it)
        self.redraws = 0  # parts whose text changed and were drawn again
        self._drawn: dict[str, str] = {}  # what each part shows now, to skip unchanged redraws
        self._title = Static(id="dash-title")
        self._summary = Static(id="dash-summary")
        self._chart = Static(id="dash-chart")
        self._teams = Static(id="dash-teams")
        self._agents = Static(id="dash-agents")

    def compose(self) -> ComposeResult:
        yield self._title
        with VerticalScroll(id="dash-body"):
            yield self._summary
            yield self._chart
            yield self._teams
            yield self._agents
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#dash-body").focus()
        self._draw()
        self.action_refresh()
        self.set_interval(REFRESH_LOW_BANDWIDTH if self.low_bandwidth else REFRESH, self.action_refresh)

    def on_resize(self) -> None:
        self._draw()  # the chart's bars narrow below 80 columns

    # --- actions --------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self._asked()

    def action_team(self) -> None:
        order: list[Team | None] = [None, *self.teams]
        index = next((i for i, t in enumerate(order) if t is self.team), 0)
        self.team = order[(index + 1) % len(order)]
        self._asked()

    def action_refresh(self) -> None:
        want = self._want()
        self.run_worker(self._load(want), exclusive=True, group="dashboard")

    def _asked(self) -> None:
        # A new question: what is on screen answers another one until the new answer arrives.
        self.stats = None
        self.error = None
        self._draw()
        self.action_refresh()

    # --- loading --------------------------------------------------------------------------

    def _want(self) -> tuple[int, int | None]:
        return (self.period, None if self.team is None else self.team.id)

    async def _load(self, want: tuple[int, int | None]) -> None:
        period, team_id = want
        until = datetime.now(UTC)
        try:
            stats = await self.backend.stats(since=until - PERIODS[period][1], until=until, team_id=team_id)
            error = None
        except Exception as exc:  # noqa: BLE001 - any failure is shown, and the next refresh retries
            stats, error = None, str(exc) or type(exc).__name__
        if want != self._want():
            return  # the agent asked another question meanwhile: this answer is for the old one
        if stats is not None:
            self.stats, self.error, self.updated = stats, None, until
        else:
            self.error = error  # keep the last good figures on screen under the error
        self.loads += 1
        self._draw()

    # --- drawing --------------------------------------------------------------------------

    def _set(self, widget: Static, key: str, plain: str, renderable: Any) -> None:
        if self._drawn.get(key) != plain:
            self._drawn[key] = plain
            self.redraws += 1
            widget.update(renderable)

    def _draw(self) -> None:
        label = PERIODS[self.period][0]
        team = "all teams" if self.team is None else f"team {sanitize_line(self.team.name)}"
        stats = self.stats
        zone = stats.tz if stats is not None else ""
        title = f"KPIs · {label} · {team}" + (f" · {zone}" if zone else "")
        if self.error is not None:
            title += f" · could not load: {sanitize_line(self.error)}"
        elif stats is None:
            title += " · loading…"
        elif self.updated is not None:
            title += f" · updated {self._local(self.updated, zone)}"
        self._set(self._title, "title", title, Text(title, "bold", no_wrap=True, overflow="ellipsis"))
        if stats is None:
            return
        rows = summary_lines(stats)
        summary = Text()
        for i, (name, value) in enumerate(rows):
            summary.append(f"{name:<15} ", "bold")
            summary.append(value + ("\n" if i < len(rows) - 1 else ""))
        self._set(self._summary, "summary", summary.plain, summary)
        width = self.size.width or 80
        narrow = width < 78  # 24 bars of 2 columns and a gap need 71 columns and the padding
        lines = chart_lines(stats, height=5, width=1 if narrow else 2, gap=1)
        chart = Text("\n".join(lines))
        self._set(self._chart, "chart", chart.plain, chart)
        for kind, groups, widget in (
            ("team", stats.teams, self._teams),
            ("agent", stats.agents, self._agents),
        ):
            table, plain = self._table(kind, groups)
            self._set(widget, kind, plain, table)

    @staticmethod
    def _table(kind: str, groups: list[Any]) -> tuple[Table | Text, str]:
        if not groups:
            text = f"No {kind}s in this period."
            return Text(text), text
        table = Table(box=None, pad_edge=False, expand=False, header_style="bold")
        table.add_column(kind.title(), no_wrap=True, max_width=18, overflow="ellipsis")
        for name in ("Convs", "First resp", "Resolved", "Resolution", "CSAT", "Backlog"):
            table.add_column(name, justify="right", no_wrap=True)
        plain = []
        for g in groups:
            cells = [
                group_name(g, kind),
                str(g.conversations),
                f"{duration_text(g.first_response.median_s)}",
                str(g.resolved),
                duration_text(g.resolution.median_s),
                "–" if g.csat_average is None else f"{g.csat_average:.1f}",
                str(g.backlog),
            ]
            table.add_row(*(Text(cell) for cell in cells))
            plain.append("\t".join(cells))
        return table, "\n".join(plain)

    @staticmethod
    def _local(moment: datetime, zone: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        except (ValueError, KeyError):
            return moment.strftime("%H:%M UTC")
