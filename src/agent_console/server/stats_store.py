"""KPIs for the people who run the desk, computed in SQL over indexed columns.

Which conversations each figure counts (the period is [since, until)):
- volume, first response, by hour of day: conversations *created* in the period
  (`conv_created`, `conv_team_created`, `conv_assignee_created`);
- resolution time and CSAT: conversations *resolved* in the period (`conv_resolved`);
  resolution time runs from creation to the latest resolution;
- SLA attainment: clock cycles that *started* in the period (`sla_cycles`), for clocks the
  conversation's policy has a target for;
- bot rates: conversations whose latest bot outcome (`bot_outcomes`, copied from the
  `conversation.bot_resolved` / `conversation.bot_handoff` events) fell in the period;
- backlog: conversations waiting now.
A team filter keeps conversations of that team; an agent filter those assigned to the agent.

Percentiles interpolate linearly between ranks (as numpy's default): the median of 10, 20,
30, 40 is 25. SQLite has no percentile function; a window numbers each group's values and
one pass picks the two ranks around the wanted one.

Hours of day are in the viewer's zone. SQLite knows no zones, so the zone's UTC offsets over
the period are found here (with their change instants) and become one CASE expression.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent_console.core.clock import to_iso
from agent_console.core.models import (
    PRIORITIES,
    Backlog,
    BotStats,
    CsatStats,
    GroupStats,
    HourStats,
    Percentiles,
    SlaAttainment,
    Stats,
)

WAITING = ("open", "pending", "snoozed")
CLOCKS = ("frt", "nrt", "rt")


def offsets(zone: ZoneInfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) from `since`, and from each instant it changes before
    `until`. Probed a day at a time (zones change at most once a day), then bisected to the
    second."""

    def offset(moment: datetime) -> int:
        value = moment.astimezone(zone).utcoffset()
        return 0 if value is None else int(value.total_seconds())

    current = offset(since)
    out = [(since, current)]
    probe = since
    while probe < until:
        step = min(probe + timedelta(days=1), until)
        found = offset(step)
        if found != current:
            low, high = probe, step
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            whole = high.replace(microsecond=0)
            if whole > low and offset(whole) == found:
                high = whole
            out.append((high, found))
            current = found
        probe = step
    return out


def hour_sql(column: str, spans: list[tuple[datetime, int]]) -> tuple[str, list[str]]:
    """SQL for the local hour (0-23) of a stored UTC instant, and its parameters."""

    def local(seconds: int) -> str:
        return f"CAST(strftime('%H', {column}, '{seconds:+d} seconds') AS INTEGER)"

    if len(spans) == 1:
        return local(spans[0][1]), []
    cases = []
    params = []
    for (_, seconds), (change, _) in zip(spans, spans[1:], strict=False):
        cases.append(f"WHEN {column} < ? THEN {local(seconds)}")
        params.append(to_iso(change))
    return f"(CASE {' '.join(cases)} ELSE {local(spans[-1][1])} END)", params


def _rank(numerator: int, denominator: int) -> str:
    """SQL for the p-th value (p = numerator/denominator) of a ranked group: the value at rank
    floor(h), plus the fraction of h times the step to the next rank (integer arithmetic, so
    no 0.9 * 10 = 8.999...)."""
    low = f"((n - 1) * {numerator}) / {denominator}"
    fraction = f"((max(n) - 1) * {numerator} % {denominator}) * 1.0 / {denominator}"
    at_low = f"max(CASE WHEN i = {low} THEN v END)"
    at_high = f"max(CASE WHEN i = {low} + 1 THEN v END)"
    return f"{at_low} + {fraction} * (coalesce({at_high}, {at_low}) - {at_low})"


def _seconds(later: str, earlier: str) -> str:
    return f"(julianday({later}) - julianday({earlier})) * 86400.0"


@dataclass(frozen=True, slots=True)
class Query:
    since: datetime
    until: datetime
    zone: ZoneInfo
    tz: str
    team_id: int | None = None
    agent_id: int | None = None

    def filters(self, alias: str = "c") -> tuple[str, list[Any]]:
        sql, params = "", []
        if self.team_id is not None:
            sql += f" AND {alias}.team_id = ?"
            params.append(self.team_id)
        if self.agent_id is not None:
            sql += f" AND {alias}.assignee_id = ?"
            params.append(self.agent_id)
        return sql, params


class StatsQueries:
    """Reads only; one instance per request is fine (it holds nothing but the connection)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def stats(self, query: Query) -> Stats:
        since, until = to_iso(query.since), to_iso(query.until)
        where, params = query.filters()
        hour, hour_params = hour_sql("c.created_at", offsets(query.zone, query.since, query.until))
        created = f"c.created_at >= ? AND c.created_at < ?{where}"
        resolved = f"c.resolved_at >= ? AND c.resolved_at < ?{where}"

        # Volume: by hour, by team, by agent, in one pass over the period's conversations.
        volume_hour: dict[int, int] = {}
        volume = {"t": {}, "a": {}}  # type: dict[str, dict[int | None, int]]
        for h, team, agent, count in self.conn.execute(
            f"SELECT {hour} AS h, c.team_id, c.assignee_id, count(*) FROM conversations c"
            f" WHERE {created} GROUP BY h, c.team_id, c.assignee_id",
            [*hour_params, since, until, *params],
        ):
            volume_hour[h] = volume_hour.get(h, 0) + count
            volume["t"][team] = volume["t"].get(team, 0) + count
            volume["a"][agent] = volume["a"].get(agent, 0) + count

        first = self._percentiles(
            f"SELECT {hour} AS h, c.team_id, c.assignee_id,"
            f" {_seconds('c.first_response_at', 'c.created_at')} AS v FROM conversations c"
            f" WHERE {created} AND c.first_response_at IS NOT NULL",
            [*hour_params, since, until, *params],
            hours=True,
        )
        resolution = self._percentiles(
            f"SELECT NULL AS h, c.team_id, c.assignee_id,"
            f" {_seconds('c.resolved_at', 'c.created_at')} AS v FROM conversations c WHERE {resolved}",
            [since, until, *params],
            hours=False,
        )
        csat = self._csat(resolved, [since, until, *params])
        backlog, backlog_groups = self._backlog(query)

        by_hour = [
            HourStats(
                hour=h,
                conversations=volume_hour.get(h, 0),
                first_response_median_s=first.get(("h", h), _EMPTY).median_s,
            )
            for h in range(24)
        ]
        groups = {}
        for kind, table in (("t", "teams"), ("a", "agents")):
            keys = (
                set(volume[kind])
                | {k for (g, k) in first if g == kind}
                | {k for (g, k) in resolution if g == kind}
                | set(backlog_groups[kind])
            )
            names = self._names(table, [k for k in keys if k is not None])
            rows = []
            for key in keys:
                rated, average = csat["groups"][kind].get(key, (0, None))
                rows.append(
                    GroupStats(
                        id=key,
                        name=names.get(key, "") if key is not None else "",
                        conversations=volume[kind].get(key, 0),
                        first_response=first.get((kind, key), _EMPTY),
                        resolved=resolution.get((kind, key), _EMPTY).count,
                        resolution=resolution.get((kind, key), _EMPTY),
                        csat_average=average,
                        csat_rated=rated,
                        backlog=backlog_groups[kind].get(key, 0),
                    )
                )
            # Busiest first; the "no team"/"unassigned" row last among equals.
            rows.sort(
                key=lambda g: (-g.conversations, -g.backlog, g.id is None, g.name.casefold(), g.id or 0)
            )
            groups[kind] = rows

        return Stats(
            since=query.since,
            until=query.until,
            tz=query.tz,
            team_id=query.team_id,
            agent_id=query.agent_id,
            conversations=sum(volume_hour.values()),
            first_response=first.get(("all", None), _EMPTY),
            resolution=resolution.get(("all", None), _EMPTY),
            sla=self._sla(query, since, until),
            csat=csat["all"],
            bot=self._bot(query, since, until),
            backlog=backlog,
            by_hour=by_hour,
            teams=groups["t"],
            agents=groups["a"],
        )

    # --- the parts -------------------------------------------------------------------------

    def _percentiles(
        self, base: str, params: list[Any], *, hours: bool
    ) -> dict[tuple[str, int | None], Percentiles]:
        """Median and p90 of `v` overall, per hour (when asked), per team and per agent.

        One window sort over the base rows under each grouping (UNION ALL of the one
        materialized base), not one query per group."""
        branches = ["SELECT 'all' AS kind, NULL AS k, v FROM base"]
        if hours:
            branches.append("SELECT 'h', h, v FROM base")
        branches += ["SELECT 't', team_id, v FROM base", "SELECT 'a', assignee_id, v FROM base"]
        sql = (
            f"WITH base AS MATERIALIZED ({base}),"
            f" grouped(kind, k, v) AS ({' UNION ALL '.join(branches)}),"
            " ranked AS (SELECT kind, k, v,"
            "  row_number() OVER (PARTITION BY kind, k ORDER BY v) - 1 AS i,"
            "  count(*) OVER (PARTITION BY kind, k) AS n FROM grouped)"
            f" SELECT kind, k, max(n), {_rank(1, 2)}, {_rank(9, 10)} FROM ranked GROUP BY kind, k"
        )
        out = {}
        for kind, key, n, median, p90 in self.conn.execute(sql, params):
            out[(kind, key)] = Percentiles(count=n, median_s=_round(median), p90_s=_round(p90))
        return out

    def _csat(self, resolved: str, params: list[Any]) -> dict[str, Any]:
        sql = (
            "SELECT c.team_id, c.assignee_id, count(*), count(r.rating), sum(r.rating),"
            " sum(r.rating = 1), sum(r.rating = 2), sum(r.rating = 3), sum(r.rating = 4), sum(r.rating = 5)"
            " FROM conversations c LEFT JOIN csat_ratings r ON r.conversation_id = c.id"
            f" WHERE {resolved} GROUP BY c.team_id, c.assignee_id"
        )
        total = [0] * 8
        sums: dict[str, dict[int | None, list[int]]] = {"t": {}, "a": {}}
        for team, agent, count, rated, points, *stars in self.conn.execute(sql, params):
            row = [count, rated, points or 0, *(s or 0 for s in stars)]
            total = [a + b for a, b in zip(total, row, strict=True)]
            for kind, key in (("t", team), ("a", agent)):
                acc = sums[kind].setdefault(key, [0, 0])
                acc[0] += rated
                acc[1] += points or 0
        count, rated, points, *stars = total
        return {
            "all": CsatStats(
                resolved=count,
                rated=rated,
                response_rate=_ratio(rated, count),
                average=_ratio(points, rated),
                distribution={str(star): n for star, n in enumerate(stars, start=1)},
            ),
            "groups": {
                kind: {key: (r, _ratio(p, r)) for key, (r, p) in by.items() if r} for kind, by in sums.items()
            },
        }

    def _sla(self, query: Query, since: str, until: str) -> list[SlaAttainment]:
        where, params = query.filters()
        counts = {clock: [0, 0, 0] for clock in CLOCKS}
        for clock, met, missed, running in self.conn.execute(
            "SELECT s.clock,"
            " sum(s.missed_at IS NULL AND s.stopped_at IS NOT NULL),"
            " sum(s.missed_at IS NOT NULL),"
            " sum(s.missed_at IS NULL AND s.stopped_at IS NULL)"
            " FROM sla_cycles s JOIN conversations c ON c.id = s.conversation_id"
            " JOIN sla_policies p ON p.id = c.sla_policy_id"
            " WHERE s.started_at >= ? AND s.started_at < ?"
            " AND (CASE s.clock WHEN 'frt' THEN p.first_response_s WHEN 'nrt' THEN p.next_response_s"
            f" ELSE p.resolution_s END) IS NOT NULL{where} GROUP BY s.clock",
            [since, until, *params],
        ):
            if clock in counts:
                counts[clock] = [met, missed, running]
        return [
            SlaAttainment(
                clock=clock,  # type: ignore[arg-type]
                met=met,
                missed=missed,
                running=running,
                attainment=_ratio(met, met + missed),
            )
            for clock, (met, missed, running) in counts.items()
        ]

    def _bot(self, query: Query, since: str, until: str) -> BotStats:
        where, params = query.filters()
        found = dict(
            self.conn.execute(
                "WITH latest AS (SELECT conversation_id, outcome, max(seq) FROM bot_outcomes"
                " WHERE at >= ? AND at < ? GROUP BY conversation_id)"
                " SELECT l.outcome, count(*) FROM latest l JOIN conversations c ON c.id = l.conversation_id"
                f" WHERE 1 = 1{where} GROUP BY l.outcome",
                [since, until, *params],
            ).fetchall()
        )
        resolved, handed = found.get("resolved", 0), found.get("handoff", 0)
        handled = resolved + handed
        return BotStats(
            handled=handled,
            resolved=resolved,
            handed_off=handed,
            resolution_rate=_ratio(resolved, handled),
            handoff_rate=_ratio(handed, handled),
        )

    def _backlog(self, query: Query) -> tuple[Backlog, dict[str, dict[int | None, int]]]:
        where, params = query.filters()
        by_status = dict.fromkeys(WAITING, 0)
        by_priority = dict.fromkeys(PRIORITIES, 0)
        unassigned = 0
        groups: dict[str, dict[int | None, int]] = {"t": {}, "a": {}}
        for status, priority, team, agent, count in self.conn.execute(
            "SELECT c.status, c.priority, c.team_id, c.assignee_id, count(*) FROM conversations c"
            f" WHERE c.status IN ('open', 'pending', 'snoozed'){where}"
            " GROUP BY c.status, c.priority, c.team_id, c.assignee_id",
            params,
        ):
            by_status[status] += count
            if status == "open":
                by_priority[priority] = by_priority.get(priority, 0) + count
                if agent is None:
                    unassigned += count
            groups["t"][team] = groups["t"].get(team, 0) + count
            groups["a"][agent] = groups["a"].get(agent, 0) + count
        backlog = Backlog(
            total=sum(by_status.values()),
            by_status=by_status,
            open_by_priority=by_priority,
            open_unassigned=unassigned,
        )
        return backlog, groups

    def _names(self, table: str, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        return dict(self.conn.execute(f"SELECT id, name FROM {table} WHERE id IN ({marks})", ids).fetchall())


_EMPTY = Percentiles(count=0, median_s=None, p90_s=None)


def _round(value: float | None) -> float | None:
    # julianday arithmetic is good to well under a millisecond; report whole milliseconds.
    return None if value is None else round(value, 3)


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else round(part / whole, 4)
