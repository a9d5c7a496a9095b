"""Queue commands: `convs` (the list) and `conv ID VERB` (one conversation).

Import hygiene: typer and the standard library at import time; the client, msgspec and
Rich are imported inside the commands.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Literal

import typer

from agent_console.cli import attachment_cmds, triage_cmds
from agent_console.cli.groups import ConvGroup, require_conv_id
from agent_console.cli.options import EPILOG, Settings, command

ViewName = Literal["mine", "unassigned", "all", "urgent"]
PriorityName = Literal["urgent", "high", "normal", "low"]
STATUS_NAMES = ("open", "pending", "snoozed", "resolved")
KEY_WINDOW = 24 * 3600  # seconds a reply sent with --idempotency-key is looked for again

conv_app = typer.Typer(
    name="conv",
    cls=ConvGroup,
    help=(
        "Act on one conversation: conv ID [VERB]. Without a verb, shows the conversation.\n\n"
        "\b\nExamples:\n"
        "  agent-console conv 42\n"
        "  agent-console conv 42 reply 'Thanks, fixed!'\n"
        "  agent-console conv 42 snooze --until tomorrow\n"
        "  agent-console conv 42 assign --agent me"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog=EPILOG,
)


# --- convs ------------------------------------------------------------------------------------


def _statuses(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return ("open",)
    wanted: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part == "all":
                return STATUS_NAMES
            if part not in STATUS_NAMES:
                raise typer.BadParameter(
                    f"{part!r} is not one of {', '.join(STATUS_NAMES)} or all", param_hint="--status"
                )
            wanted.append(part)
    return tuple(dict.fromkeys(wanted)) or ("open",)


def _urgent_window(text: str | None) -> int | None:
    """Seconds for `breaching_within`: the option, else the console's [tui] urgent_window."""
    if text is not None:
        from agent_console.cli.sla_cmds import parse_duration

        return parse_duration(text, "--breaching-within")
    from agent_console.client.config import ConfigError, load_config

    try:
        tui = load_config().tui
    except ConfigError:
        tui = None  # the console reports a bad config; a listing uses the default
    minutes = tui.urgent_window if tui is not None and tui.urgent_window is not None else 15
    return minutes * 60


def convs(
    settings: Settings,
    view: Annotated[ViewName, typer.Option(help="Which queue view.")] = "all",
    status: Annotated[
        list[str] | None,
        typer.Option(
            metavar="STATUS[,STATUS]",
            help="open, pending, snoozed, resolved (comma-separated or repeated), or all.  [default: open]",
            show_default=False,
        ),
    ] = None,
    label: Annotated[str | None, typer.Option(help="Only conversations with this label.")] = None,
    query: Annotated[
        str | None, typer.Option(help="Full-text search in subjects, messages and contacts.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many conversations.")] = 50,
    all_pages: Annotated[
        bool, typer.Option("--all-pages", help="Every matching conversation (ignores --limit).")
    ] = False,
    breaching_within: Annotated[
        str | None,
        typer.Option(
            "--breaching-within",
            metavar="DURATION",
            help="With --view urgent: also what is due within this long (15m, 1h; none: priority only)."
            "  [default: the console's urgent_window, 15m]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the queue, most urgent first (the one whose answer is due soonest on top).

    The urgent view holds urgent conversations and, as in the console, those whose answer is
    due within the urgent window (late ones included).

    SUMMARY is the subject, or for a chat the last message the customer saw (never a
    private note). CSV has it as `summary`, and that message as `last_message`,
    `last_message_id`, `last_message_kind` and `last_message_at`.

    \b
    Examples:
      agent-console convs --view mine
      agent-console convs --status open,pending --label billing -o json
      agent-console convs --view unassigned -q | xargs -n1 -I{} agent-console conv {} assign --agent me
    """
    statuses = _statuses(status)
    window = _urgent_window(breaching_within) if view == "urgent" else None
    from agent_console.cli import conv_output, output, runtime

    async def work(backend):
        items = await runtime.collect_pages(
            lambda want, cursor: backend.conversations(
                view=view,
                statuses=statuses,
                query=query,
                label=label,
                limit=want,
                cursor=cursor,
                breaching_within=window,
            ),
            limit=limit,
            all_pages=all_pages,
        )
        looked_up = {}
        if _shows_last_message(settings, in_text=True):
            # The table shows a chat's last visible message; CSV has it for every row.
            looked_up = await conv_output.visible_last_messages(
                backend, items, subjectless_only=settings.output == "text"
            )
        return items, looked_up

    items, looked_up = runtime.call(settings, work)
    output.show_list(output.Out(settings), items, conv_output.conversation_spec(looked_up))


# --- conv ID ----------------------------------------------------------------------------------


def _shows_last_message(settings: Settings, *, in_text: bool) -> bool:
    """Whether the output shows a conversation's last message: CSV always, text when
    `in_text` (the list and the detail view do, a write's one-line summary does not), JSON
    never (it is the wire object), --quiet never (ids only)."""
    if settings.quiet or settings.output == "json":
        return False
    return settings.output == "csv" or in_text


async def _visible(backend, settings: Settings, conversation, *, in_text: bool = False):
    """`conversation` and, when the output shows it, its last customer-visible message."""
    from agent_console.cli import conv_output

    looked_up = {}
    if _shows_last_message(settings, in_text=in_text):
        looked_up = await conv_output.visible_last_messages(backend, [conversation])
    return conversation, looked_up


def _show_written(settings: Settings, result) -> None:
    """After a write: a one-line summary in text, the record in the other formats."""
    from agent_console.cli import conv_output, output

    conversation, looked_up = result
    output.show_one(
        output.Out(settings),
        conversation,
        conv_output.conversation_spec(looked_up),
        summary=_patch_summary(conversation),
    )


def _patch_summary(conversation) -> str:
    from agent_console.core.bot_view import short_line

    assignee = conversation.assignee.name if conversation.assignee else "unassigned"
    parts = [
        f"conversation {conversation.id}:",
        conversation.status,
        f"(until {conversation.snoozed_until:%Y-%m-%d %H:%M} UTC)" if conversation.snoozed_until else "",
        f"| priority {conversation.priority}",
        f"| {assignee}",
        f"| team {conversation.team.name}" if conversation.team else "",
        f"| labels {','.join(conversation.labels)}" if conversation.labels else "",
        f"| {short_line(conversation)}" if short_line(conversation) else "",
    ]
    return " ".join(p for p in parts if p)


def _patch(settings: Settings, **changes: object) -> None:
    from agent_console.cli import runtime
    from agent_console.core.models import ConversationPatch

    conv_id = require_conv_id(settings.conv_id)
    patch = ConversationPatch(**changes)  # type: ignore[arg-type]

    async def work(backend):
        return await _visible(backend, settings, await backend.update_conversation(conv_id, patch))

    _show_written(settings, runtime.call(settings, work))


def view(settings: Settings) -> None:
    """Show one conversation: status, contact, assignee, SLA due time, the last message.

    \b
    Examples:
      agent-console conv 42
      agent-console conv 42 -o json
    """
    from agent_console.cli import conv_output, output, runtime

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        return await _visible(backend, settings, await backend.conversation(conv_id), in_text=True)

    conversation, looked_up = runtime.call(settings, work)
    output.show_one(output.Out(settings), conversation, conv_output.conversation_spec(looked_up))


def messages(
    settings: Settings,
    after: Annotated[
        int | None, typer.Option(min=0, metavar="MESSAGE_ID", help="Only messages after this one.")
    ] = None,
) -> None:
    """Print the conversation's messages, oldest first (notes and activity included).

    \b
    Examples:
      agent-console conv 42 messages
      agent-console conv 42 messages --after 1200 -o json
    """
    from agent_console.cli import output, runtime

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        return await backend.messages(conv_id, after=after)

    items = runtime.call(settings, work)
    out = output.Out(settings)
    if settings.output == "text" and not settings.quiet:
        output.show_transcript(out, items)
    else:
        output.show_list(out, items, output.MESSAGES)


def _send(
    settings: Settings,
    text: str,
    *,
    private: bool,
    last_seen: int | None,
    force: bool,
    idempotency_key: str | None,
) -> None:
    from agent_console.cli import output, runtime
    from agent_console.client.errors import Conflict, InvalidRequest

    conv_id = require_conv_id(settings.conv_id)
    what = "note" if private else "reply"
    conn = runtime.connection(settings)
    desk = "Chatwoot" if conn.backend == "chatwoot" else "the desk server"
    limit = runtime.max_message_chars(conn.backend)
    body = runtime.read_text_argument(text, what, max_chars=limit, desk=desk)

    # A key names one message, so a run with it may be a retry of an earlier run: a help desk
    # without idempotency keys (Chatwoot) first looks for that run's reply from the last day.
    retry_since = time.time() - KEY_WINDOW if idempotency_key else None

    async def work(backend):
        return await backend.send_message(
            conv_id,
            body,
            private=private,
            last_seen_message_id=last_seen,
            force=force,
            idempotency_key=idempotency_key,
            retry_since=retry_since,
        )

    try:
        message = runtime.run_with(conn, work)
    except InvalidRequest as exc:
        if exc.status == 413 and exc.code != "payload_too_large":
            # Not the desk server's own answer (that one names the limit): a proxy's page.
            exc.message = f"the {what} is too large for the desk server or a proxy in front of it"
        raise
    except Conflict as exc:
        if exc.unseen:
            ids = ", ".join(f"#{m.id}" for m in exc.unseen[:10])
            exc.message = (
                f"conversation {conv_id} has {len(exc.unseen)} message(s) you have not seen"
                f" ({ids}); read them with `agent-console conv {conv_id} messages"
                f" --after {last_seen}`, then send again with --force"
            )
        raise
    output.show_one(
        output.Out(settings),
        message,
        output.MESSAGES,
        summary=f"sent {what} #{message.id} to conversation {conv_id}",
    )


TextArgument = Annotated[str, typer.Argument(metavar="TEXT|-", help="The text, or - to read stdin.")]
LastSeenOption = Annotated[
    int | None,
    typer.Option(
        "--last-seen",
        min=1,
        metavar="MESSAGE_ID",
        help="Refuse (exit 5) if anyone wrote after this message.",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Send even if others wrote since.")]
IdempotencyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        metavar="KEY",
        help="Retrying with the same key never sends twice.",
    ),
]


def reply(
    settings: Settings,
    text: TextArgument,
    last_seen: LastSeenOption = None,
    force: ForceOption = False,
    idempotency_key: IdempotencyOption = None,
) -> None:
    """Reply to the customer (visible to them).

    \b
    Examples:
      agent-console conv 42 reply "Your refund is on its way."
      fortune | agent-console conv 42 reply -
      agent-console conv 42 reply --last-seen 1200 "Done!"   # exit 5 if they wrote since
    """
    _send(settings, text, private=False, last_seen=last_seen, force=force, idempotency_key=idempotency_key)


def note(
    settings: Settings,
    text: TextArgument,
    last_seen: LastSeenOption = None,
    force: ForceOption = False,
    idempotency_key: IdempotencyOption = None,
) -> None:
    """Add a private note (only agents see it).

    \b
    Examples:
      agent-console conv 42 note "Escalated to billing, ticket B-881."
      agent-console conv 42 note - < findings.txt
    """
    _send(settings, text, private=True, last_seen=last_seen, force=force, idempotency_key=idempotency_key)


def resolve(settings: Settings) -> None:
    """Mark the conversation resolved.

    \b
    Example:
      agent-console conv 42 resolve
    """
    _patch(settings, status="resolved")


def reopen(settings: Settings) -> None:
    """Set the conversation open again (also wakes a snoozed one).

    \b
    Example:
      agent-console conv 42 open
    """
    _patch(settings, status="open")


def pending(settings: Settings) -> None:
    """Set the conversation pending (waiting on someone other than the customer).

    \b
    Example:
      agent-console conv 42 pending
    """
    _patch(settings, status="pending")


def bot(settings: Settings) -> None:
    """Send the conversation back to the FAQ bot: pending, and the bot answers the customer's
    next message (from the knowledge base, or hands it to people again).

    \b
    Example:
      agent-console conv 42 bot
    """
    _patch(settings, status="pending", bot=True)


def snooze(
    settings: Settings,
    until: Annotated[
        str,
        typer.Option(
            "--until",
            metavar="WHEN",
            help="4h, 30m, 2d, 1h30m, tomorrow (09:00 your time), 'tomorrow 14:00',"
            " or a date-time like 2026-12-01T09:00 (your zone unless it has an offset).",
        ),
    ],
) -> None:
    """Snooze the conversation until a time; it reopens by itself then.

    Times without an offset are in your own time zone (from your agent profile).

    \b
    Examples:
      agent-console conv 42 snooze --until 4h
      agent-console conv 42 snooze --until tomorrow
      agent-console conv 42 snooze --until 2026-12-01T09:00
    """
    from agent_console.cli import timeparse

    try:
        timeparse.check_until(until)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--until") from None
    from agent_console.cli import runtime
    from agent_console.core.models import ConversationPatch

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        zone_name = None
        if not re.fullmatch(r"[\dwdhms]+", until.strip().lower()):
            zone_name = (await backend.me()).timezone
        try:
            moment = timeparse.parse_until(until, zone=timeparse.zone_named(zone_name))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--until") from None
        patch = ConversationPatch(status="snoozed", snoozed_until=moment)
        return await _visible(backend, settings, await backend.update_conversation(conv_id, patch))

    _show_written(settings, runtime.call(settings, work))


def _pick(kind: str, text: str, candidates: list, *, keys) -> int:
    """Find one agent or team by id, exact name/email, or a unique part of the name."""
    from agent_console.client.errors import InvalidRequest, NotFound

    wanted = text.strip()
    if wanted.isdigit():
        for item in candidates:
            if item.id == int(wanted):
                return item.id
        raise NotFound(f"no {kind} with id {wanted}")
    folded = wanted.casefold()
    exact = [c for c in candidates if any((k(c) or "").casefold() == folded for k in keys)]
    if len(exact) == 1:
        return exact[0].id
    partial = exact or [c for c in candidates if folded in (keys[0](c) or "").casefold()]
    if len(partial) == 1:
        return partial[0].id
    if not partial:
        raise NotFound(f"no {kind} named {wanted!r}")
    names = ", ".join(f"{keys[0](c)} ({c.id})" for c in partial[:6])
    raise InvalidRequest(f"{wanted!r} matches several {kind}s: {names}; use the id")


def assign(
    settings: Settings,
    agent: Annotated[
        str | None,
        typer.Option("--agent", metavar="me|NAME|ID", help="Assign to an agent (name, email or id)."),
    ] = None,
    team: Annotated[str | None, typer.Option("--team", metavar="NAME|ID", help="Assign to a team.")] = None,
) -> None:
    """Assign the conversation to an agent, a team, or both.

    \b
    Examples:
      agent-console conv 42 assign --agent me
      agent-console conv 42 assign --agent "Ana Ruiz" --team Billing
      agent-console conv 42 assign --team 3
    """
    if agent is None and team is None:
        raise typer.BadParameter("give --agent, --team, or both", param_hint="--agent/--team")
    from agent_console.cli import runtime
    from agent_console.core.models import ConversationPatch

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        changes: dict[str, int] = {}
        if agent is not None:
            if agent.strip().lower() == "me":
                changes["assignee_id"] = (await backend.me()).id
            else:
                people = [a for a in await backend.agents() if a.role != "integration"]
                changes["assignee_id"] = _pick(
                    "agent", agent, people, keys=(lambda a: a.name, lambda a: a.email)
                )
        if team is not None:
            changes["team_id"] = _pick("team", team, await backend.teams(), keys=(lambda t: t.name,))
        updated = await backend.update_conversation(conv_id, ConversationPatch(**changes))
        return await _visible(backend, settings, updated)

    _show_written(settings, runtime.call(settings, work))


def unassign(
    settings: Settings,
    team: Annotated[bool, typer.Option("--team", help="Also remove the team.")] = False,
) -> None:
    """Remove the assigned agent (and with --team, the team).

    \b
    Examples:
      agent-console conv 42 unassign
      agent-console conv 42 unassign --team
    """
    changes: dict[str, None] = {"assignee_id": None}
    if team:
        changes["team_id"] = None
    _patch(settings, **changes)


def priority(
    settings: Settings,
    level: Annotated[PriorityName, typer.Argument(metavar="urgent|high|normal|low")],
) -> None:
    """Set the priority (it moves the SLA due time).

    \b
    Example:
      agent-console conv 42 priority urgent
    """
    _patch(settings, priority=level)


def _labels(text: str | None, what: str) -> list[str]:
    """Comma-separated labels in the form the desk stores them (folded: `VIP` is `vip`), so
    --add and --remove compare with the conversation's labels as the server keeps them."""
    from agent_console.core.labels import fold_label, label_problem

    if text is None:
        return []
    labels = [part for part in text.split(",") if part.strip()]
    for label in labels:
        problem = label_problem(label)
        if problem is not None:
            raise typer.BadParameter(f"{label.strip()!r} is not a label: {problem}", param_hint=what)
    return list(dict.fromkeys(fold_label(label) for label in labels))


def label(
    settings: Settings,
    labels: Annotated[
        str | None,
        typer.Argument(metavar="[LABEL,...]", help="Set exactly these labels (comma-separated)."),
    ] = None,
    add: Annotated[str | None, typer.Option("--add", metavar="LABEL,...", help="Add these labels.")] = None,
    remove: Annotated[
        str | None, typer.Option("--remove", metavar="LABEL,...", help="Remove these labels.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every label.")] = False,
) -> None:
    """Set, add or remove labels.

    \b
    Examples:
      agent-console conv 42 label billing,refund       # exactly these
      agent-console conv 42 label --add vip --remove spam
      agent-console conv 42 label --clear
    """
    chosen = sum(x is not None and x is not False for x in (labels, clear)) + (
        1 if (add is not None or remove is not None) else 0
    )
    if chosen != 1:
        raise typer.BadParameter(
            "give LABELS to set, or --add/--remove, or --clear (one of them)", param_hint="LABELS"
        )
    exact = _labels(labels, "LABELS")
    adding, removing = _labels(add, "--add"), _labels(remove, "--remove")
    if labels is not None and not exact:
        raise typer.BadParameter("no labels given (use --clear to remove all)", param_hint="LABELS")
    if labels is not None or clear:
        _patch(settings, labels=exact)
        return
    from agent_console.cli import runtime
    from agent_console.core.models import ConversationPatch

    conv_id = require_conv_id(settings.conv_id)

    async def work(backend):
        current = await backend.conversation(conv_id)
        new = [x for x in dict.fromkeys([*current.labels, *adding]) if x not in removing]
        updated = await backend.update_conversation(conv_id, ConversationPatch(labels=new))
        return await _visible(backend, settings, updated)

    _show_written(settings, runtime.call(settings, work))


def register(app: typer.Typer) -> None:
    command(app, "convs", epilog=EPILOG)(convs)
    for name, func in (
        ("view", view),
        ("messages", messages),
        ("reply", reply),
        ("note", note),
        ("resolve", resolve),
        ("open", reopen),
        ("pending", pending),
        ("snooze", snooze),
        ("assign", assign),
        ("unassign", unassign),
        ("priority", priority),
        ("label", label),
        ("bot", bot),
    ):
        command(conv_app, name, epilog=EPILOG)(func)
    attachment_cmds.register(conv_app)
    triage_cmds.register(conv_app)
    app.add_typer(conv_app, name="conv")
