"""Untrusted text, end to end: every injection vector goes through the real desk server as
a customer message (and, for the short ones, as the contact's name and the subject) into the
real console running in a real pseudo-terminal; every byte the console writes is checked.

The console runs as a child process under a pty at 120x40 (the narrow layout: enter opens
a conversation, escape goes back to the queue). The test opens every conversation so each
thread is rendered, then asserts that:

- none of a vector's `forbidden` sequences reaches the terminal,
- no OSC 52 (clipboard), no title-setting OSC 0/1/2, and no OSC 8 hyperlink to a URI out
  of the corpus is written at all, nor any 8-bit C1 control or invalid UTF-8,
- markup in customer text is shown literally (`expect`),
- the console is still running at the end, and quits cleanly with ctrl+q.

Transport: JSON carries text, not bytes. Vectors given as raw bytes are delivered as a
channel integration would decode them: UTF-8 with replacement characters (and, for the
8-bit C1 ones, also as ISO-8859-1, which maps byte 0x9B to U+009B CSI). Lone surrogates
cannot travel in JSON at all (the server refuses them with 400); they are delivered with
replacement characters. The 5 MB line is cut to the server's 200,000-character limit,
keeping its escape-sequence tail.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent_console.core.sanitize import sanitize
from tests.conftest import Desk
from tests.injection import Vector, load_vectors

COLUMNS, ROWS = 120, 40
BODY_LIMIT = 200_000
NAME_LIMIT = 190
PER_CONVERSATION = 2
TAG = re.compile(r"VEC(\d{3})~")
HUGE_SHOWN = re.compile("A{80}")
HUGE_TAIL = re.compile("A{20}" + re.escape(sanitize("\x1b[2J")))
SHOWN = re.compile(r"VEC\d{3}~|A{80}")
QUEUE_SHOWN = re.compile(r" mail ")  # a queue row: every conversation here came in by e-mail
CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
OSC = re.compile(r"\x1b\](\d*)(;[^\x07\x1b]*)?(?:\x07|\x1b\\)?")


@dataclass
class Case:
    index: int
    vector: Vector
    text: str  # what the customer's message says, as delivered
    header: str = ""  # "name" or "subject" when the text was also used as one

    @property
    def tag(self) -> str:
        return f"VEC{self.index:03d}~"

    @property
    def short(self) -> bool:
        return 0 < len(self.text.strip()) and len(self.text) <= NAME_LIMIT


def deliverable(vector: Vector) -> list[str]:
    raw = vector.raw
    if isinstance(raw, bytes):
        texts = [raw.decode("utf-8", errors="replace")]
        if vector.category == "c1_8bit":
            texts.append(raw.decode("latin-1"))
        return texts
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in raw):
        return [raw.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")]
    if len(raw) > BODY_LIMIT - 20:
        tail = raw[-16:]
        return [raw[: BODY_LIMIT - 20 - len(tail)] + tail]
    return [raw]


def build_cases() -> list[Case]:
    return [
        Case(index, vector, text)
        for index, (vector, text) in enumerate(
            (vector, text) for vector in load_vectors() for text in deliverable(vector)
        )
    ]


def deliver(desk: Desk, group: list[Case]) -> int:
    """One conversation for a group of cases: the first one's text is the contact's name, the
    last one's the subject (when short enough), each one's text a message of its own."""
    client = httpx.Client(
        base_url=desk.api, headers={"Authorization": f"Bearer {desk.admin_token}"}, timeout=30
    )
    first_case, last_case = group[0], group[-1]
    contact = {
        "name": f"Customer {first_case.index}",
        "email": f"v{first_case.index}-{uuid.uuid4().hex[:6]}@cust.example",
    }
    with client:
        body = f"{first_case.tag} {first_case.text}"
        payload = {"channel": "email", "contact": dict(contact), "body": body}
        if first_case.short:
            payload["contact"]["name"] = first_case.text
            first_case.header = "name"
        if last_case.short:
            payload["subject"] = last_case.text
            last_case.header = last_case.header or "subject"
        created = client.post("/inbound", json=payload)
        assert created.status_code == 201, (first_case.vector.name, created.status_code, created.text[:200])
        cid = created.json()["conversation_id"]
        # The others, then a plain follow-up, so the queue's preview line is not a vector: a
        # tag shows up on screen only when the thread itself is rendered.
        bodies = [f"{case.tag} {case.text}" for case in group[1:]] + ["plain follow-up"]
        for body in bodies:
            more = client.post(
                "/inbound",
                json={"channel": "email", "contact": contact, "conversation_id": cid, "body": body},
            )
            assert more.status_code == 201, (body[:40], more.status_code, more.text[:200])
        return cid


class Terminal:
    """A child process on a pty of our own, every byte it writes kept."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.output = bytearray()
        self.last_byte = time.monotonic()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.output += chunk
                self.last_byte = time.monotonic()

    def text(self, start: int = 0) -> str:
        with self.lock:
            return bytes(self.output[start:]).decode("utf-8", errors="surrogateescape")

    def mark(self) -> int:
        with self.lock:
            return len(self.output)

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def settle(self, *, quiet: float = 0.05, at_least: float = 0.03, at_most: float = 3.0) -> None:
        """Wait until the app has written nothing for `quiet` seconds (a pacing aid only)."""
        start = time.monotonic()
        while time.monotonic() - start < at_most:
            time.sleep(0.01)
            now = time.monotonic()
            if now - start >= at_least and now - self.last_byte >= quiet:
                return

    def wait_for(self, pattern: re.Pattern[str], start: int, timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(CSI.sub("", self.text(start)))
            if found:
                return found
            time.sleep(0.02)
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        os.close(self.master)


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_CONNECTION", "TEXTUAL", "NO_COLOR")}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        COLUMNS=str(COLUMNS),
        LINES=str(ROWS),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        ESCDELAY="25",
    )
    return env


def deliver_corpus(desk: Desk) -> tuple[list[Case], dict[int, list[Case]]]:
    """Every case into the desk, two to a conversation; the huge one alone, and last."""
    cases = build_cases()
    ordinary = [case for case in cases if case.vector.category != "huge"]
    groups = [ordinary[at : at + PER_CONVERSATION] for at in range(0, len(ordinary), PER_CONVERSATION)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda group: deliver(desk, group), groups))
    huge = [case for case in cases if case not in ordinary]
    groups.append(huge)
    ids.append(deliver(desk, huge))
    return cases, dict(zip(ids, groups, strict=True))


def test_every_vector_reaches_the_terminal_harmless(fresh_desk: Desk, terminal_env: dict[str, str]) -> None:
    desk = fresh_desk
    cases, by_conversation = deliver_corpus(desk)
    ordinary = [case for case in cases if case.vector.category != "huge"]
    conversations = len(by_conversation)
    code = (
        "import sys\n"
        "from agent_console.tui.app import run_console\n"
        f"sys.exit(run_console(server={desk.url!r}, token={desk.agent_token!r}))\n"
    )
    terminal = Terminal([sys.executable, "-c", code], terminal_env)
    shown: set[int] = set()  # cases whose thread was on screen
    try:
        live = re.compile(rf"unassigned {conversations}\b")
        assert terminal.wait_for(live, 0, 60), "the console never loaded the queue"
        terminal.settle(quiet=0.2)
        start = terminal.mark()
        terminal.press(b"3")  # the All view
        assert terminal.wait_for(re.compile(r" mail "), start, 10), "the All view shows nothing"
        terminal.settle()
        # Walk down the queue opening each conversation, until every thread has been on screen.
        for position in range(conversations + 20):
            if len(shown) == len(cases):
                break
            start = terminal.mark()
            terminal.press(b"\r" if position == 0 else b"j\r")
            terminal.wait_for(SHOWN, start, timeout=10)
            terminal.settle(quiet=0.03, at_least=0.0, at_most=1.0)
            plain = CSI.sub("", terminal.text(start))
            shown.update(int(n) for n in TAG.findall(plain))
            if HUGE_SHOWN.search(plain):
                # Show all of it (e) and go to its end: the dangerous tail must be drawn too, so
                # the forbidden check below covers it.
                tail = terminal.mark()
                terminal.press(b"e")
                terminal.settle(quiet=0.2, at_most=10.0)
                terminal.press(b"\x1b[F")  # end
                assert terminal.wait_for(HUGE_TAIL, tail, timeout=30), (
                    "the huge message's tail was never drawn"
                )
                shown.update(case.index for case in cases if case not in ordinary)
            back = terminal.mark()
            terminal.press(b"\x1b")  # back to the queue, alone (ESC then j within ESCDELAY is alt+j)
            terminal.wait_for(QUEUE_SHOWN, back, timeout=5)
            terminal.settle(quiet=0.03, at_least=0.05, at_most=1.0)
            assert terminal.proc.poll() is None, f"the console exited at queue position {position}"
        alive = terminal.proc.poll() is None
        terminal.press(b"\x11")  # ctrl+q
        try:
            exit_code = terminal.proc.wait(15)
        except subprocess.TimeoutExpired:
            exit_code = None
    finally:
        terminal.close()

    report = check_output(terminal.text(), cases)
    assert alive, "the console died"
    assert exit_code == 0, f"ctrl+q did not quit cleanly (exit {exit_code})"
    assert not report, "terminal injection:\n" + "\n".join(report)
    unseen = [case.vector.name for case in cases if case.index not in shown]
    assert not unseen, f"these threads were never rendered, so they prove nothing: {unseen}"
    headers = Counter(case.header for case in cases if case.header)
    assert headers["name"] >= 30 and headers["subject"] >= 30, headers
    print(
        f"injection e2e: {len(load_vectors())} vectors as {len(cases)} messages in {conversations}"
        f" conversations ({headers['name']} also as contact names, {headers['subject']} as subjects);"
        f" {len(terminal.output):,} bytes from the terminal checked; 0 leaks"
    )


def check_output(output: str, cases: list[Case]) -> list[str]:
    """Everything wrong with what the terminal received, one line per finding.

    A forbidden sequence with a control character in it may appear nowhere. A printable
    one (`;https://evil.example` after a link was turned into OSC 8) may also be part of
    another vector's harmless rendering (`␛]8;;https://evil.example`): an occurrence that
    the sanitized text of some vector explains, down to the characters just before it, is
    that rendering and not a leak.
    """
    problems: list[str] = []
    invalid = sorted({hex(ord(ch) - 0xDC00) for ch in output if 0xDC80 <= ord(ch) <= 0xDCFF})
    if invalid:
        problems.append(f"invalid UTF-8 bytes written to the terminal: {invalid[:10]}")
    c1 = sorted({f"U+{ord(ch):04X}" for ch in output if 0x80 <= ord(ch) <= 0x9F})
    if c1:
        problems.append(f"8-bit C1 controls written to the terminal: {c1}")
    corpus = [case.text for case in cases]
    for match in OSC.finditer(output):
        number, rest = match.group(1), (match.group(2) or "")[1:]
        if number == "52":
            problems.append(f"OSC 52 (clipboard) written: {match.group(0)[:60]!r}")
        elif number in ("0", "1", "2"):
            problems.append(f"OSC {number} (window title) written: {match.group(0)[:60]!r}")
        elif number == "8":
            uri = rest.partition(";")[2]
            if uri and any(uri in text for text in corpus):
                problems.append(f"OSC 8 hyperlink to customer text written: {uri[:60]!r}")
    rendered = [sanitize(case.text) for case in cases]
    for case in cases:
        for forbidden in case.vector.forbidden:
            where = output.find(forbidden)
            while where >= 0 and _explained(output, where, forbidden, rendered):
                where = output.find(forbidden, where + 1)
            if where >= 0:
                context = output[max(0, where - 20) : where + len(forbidden) + 20]
                problems.append(
                    f"{case.vector.name}: forbidden {forbidden!r} reached the terminal: {context!r}"
                )
    plain = CSI.sub("", output)
    for case in cases:
        if case.vector.category not in ("textual_markup", "rich_markup"):
            continue
        for expected in case.vector.expect:
            if "\n" not in expected and expected not in plain:
                problems.append(f"{case.vector.name}: {expected!r} was not shown literally")
    return problems


def _explained(output: str, where: int, needle: str, rendered: list[str], context: int = 4) -> bool:
    """Is `output[where:]` (which starts with `needle`) some vector's sanitized text?"""
    for text in rendered:
        at = text.find(needle)
        while at >= 0:
            before = min(at, context)
            shown = output[where - before : where + len(needle)]
            if where >= before and shown == text[at - before : at + len(needle)]:
                return True
            at = text.find(needle, at + 1)
    return False


def test_the_checker_catches_what_it_is_meant_to() -> None:
    """The e2e test can only pass for the right reason if its checker fails on a real leak."""
    cases = build_cases()
    by_name = {case.vector.name: case for case in cases}
    harmless = "".join(sanitize(case.text) for case in cases) + "\x1b[2J\x1b]22;default\x1b\\"
    assert check_output(harmless, cases) == []
    leaks = {
        "osc52": "\x1b]52;c;aGk=\x07",
        "title": "\x1b]0;PWNED-TITLE\x07",
        "link": "\x1b]8;;https://evil.example/login\x1b\\",
        "c1": "\u009b2J",
        "bytes": "\udcff",
        "raw": by_name["csi_clear_screen"].text,
        "markup": "",  # expected markup text missing altogether
    }
    for what, leak in leaks.items():
        output = harmless + leak
        if what == "markup":
            output = output.replace(by_name["textual_click_quit"].text, "Click")
        assert check_output(output, cases), f"the checker missed a {what} leak"


def test_raw_invalid_utf8_and_lone_surrogates_never_get_stored(fresh_desk: Desk) -> None:
    """What the TUI test cannot send as JSON text: the server must refuse it as a client error."""
    headers = {"Authorization": f"Bearer {fresh_desk.admin_token}", "Content-Type": "application/json"}
    escaped = json.dumps({"channel": "sms", "contact": {"name": "x"}, "body": "lone \ud800 surrogate"})
    response = httpx.post(f"{fresh_desk.api}/inbound", content=escaped.encode(), headers=headers)
    assert response.status_code == 400


def test_raw_invalid_utf8_body_is_a_client_error(fresh_desk: Desk) -> None:
    headers = {"Authorization": f"Bearer {fresh_desk.admin_token}", "Content-Type": "application/json"}
    for vector in load_vectors():
        if isinstance(vector.raw, bytes):
            body = b'{"channel":"sms","contact":{"name":"x"},"body":"' + vector.raw.replace(b'"', b"") + b'"}'
            try:
                body.decode("utf-8")
                continue  # valid UTF-8 after all: nothing to refuse
            except UnicodeDecodeError:
                pass
            response = httpx.post(f"{fresh_desk.api}/inbound", content=body, headers=headers)
            assert response.status_code == 400, (vector.name, response.status_code)


# --- on screen: every vector's whole payload, as the agent sees it ------------------------------------


def _as_stored(text: str) -> tuple[str, str]:
    """A name or subject as the server may keep it: as sent, or without surrounding blanks."""
    return text, text.strip(" \t\r\n")


def _squash(text: str) -> str:
    """Text with its whitespace taken out: line wrapping moves and drops spaces, nothing else."""
    return "".join(text.split())


async def _item_rows(pilot, thread, item) -> list[str]:  # noqa: ANN001 - pilot and widgets
    """Every row of one message as the terminal shows it, scrolling the thread to bring each into view."""
    from tests.tui_helpers import region_rows

    rows: dict[int, str] = {}
    top, height = item.virtual_region.y, item.virtual_region.height
    view = thread.scrollable_content_region.height
    for y in range(top, top + height, max(1, view - 1)):
        thread.scroll_to(y=y, animate=False, immediate=True)
        await pilot.pause()
        content = thread.text_region(item)
        for screen_y, row in region_rows(
            pilot.app, content.intersection(thread.scrollable_content_region)
        ).items():
            rows[screen_y - content.y] = row.rstrip()
    assert rows, f"message {item.message.id} was never on screen"
    missing = [n for n in range(item.virtual_region.height) if n not in rows]
    assert not missing, f"rows {missing[:5]} of message {item.message.id} were never on screen"
    return [rows[n] for n in sorted(rows)]


@pytest.mark.timeout(400)
async def test_every_vector_is_shown_whole_on_screen(fresh_desk: Desk, tmp_path: Path) -> None:
    """Each vector's whole message (long ones expanded with `e`), every `expect`, and the vectors
    used as contact names and subjects, read off the console's screen: a payload the console
    dropped, cut or rewrote after its tag fails here."""
    from agent_console.client.drafts import Drafts
    from agent_console.client.native import NativeBackend
    from agent_console.core.sanitize import sanitize_line
    from agent_console.tui.app import ConsoleApp
    from tests.tui_helpers import region_text, wait_for

    desk = fresh_desk
    cases, by_conversation = deliver_corpus(desk)
    backend = NativeBackend(desk.url, desk.agent_token)
    app = ConsoleApp(backend, drafts=Drafts(tmp_path / "l.db", desk.url), outbox_path=tmp_path / "l.db")
    problems: list[str] = []
    checked = Counter()
    async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
        await wait_for(
            pilot,
            lambda: app.store.loaded and all(c in app.store.desk.conversations for c in by_conversation),
            timeout=60,
            what="every conversation in the console",
        )
        screen = app.screen_stack[-1]
        await pilot.press("3")  # the All view
        queue = screen.queue
        await wait_for(pilot, lambda: set(by_conversation) <= set(queue.rows), what="the All view")
        for position in range(len(queue.rows)):
            cid = queue.rows[position]
            if cid not in by_conversation:
                continue
            group = by_conversation[cid]
            screen.open_conversation(cid)
            thread = screen.pane.thread
            await wait_for(
                pilot,
                lambda t=thread, c=cid, g=group: (
                    [i.message.conversation_id for i in t.message_items()] == [c] * (len(g) + 1)
                    and all(i.virtual_region.height > 0 for i in t.message_items())  # laid out
                ),
                timeout=20,
                what=f"conversation {cid}'s thread",
            )
            if any(item.clipped for item in thread.message_items()):
                await pilot.press("e")  # show all of the long message
                await wait_for(
                    pilot,
                    lambda t=thread: not any(item.clipped for item in t.message_items()),
                    timeout=60,
                    what="the long message in full",
                )
                checked["expanded"] += 1
            conversation = app.store.desk.conversations[cid]
            header = region_text(app, screen.pane.query_one("#conversation-header"))
            for case in group:
                items = [i for i in thread.message_items() if i.message.body.startswith(case.tag)]
                assert items, (case.tag, [i.message.body[:20] for i in thread.message_items()])
                item = items[0]
                rows = await _item_rows(pilot, thread, item)
                shown = _squash("\n".join(rows))
                author, _, body = shown.partition(_squash(case.tag))  # author and time, then the message
                expected = _squash(sanitize(f"{case.tag} {case.text}"))
                if not body or expected != _squash(case.tag) + body:
                    at = next(
                        (
                            n
                            for n, (a, b) in enumerate(zip(expected, shown[len(author) :], strict=False))
                            if a != b
                        ),
                        0,
                    )
                    problems.append(
                        f"{case.vector.name}: shown {shown[len(author) + max(0, at - 20) :][:60]!r},"
                        f" sent {expected[max(0, at - 20) : at + 40]!r}"
                    )
                for literal in case.vector.expect:
                    lines = "\n".join(rows)
                    if not (literal in lines if "\n" in literal else _squash(literal) in body):
                        problems.append(f"{case.vector.name}: {literal!r} is not shown literally")
                    checked["expect"] += 1
                if case.header == "name":
                    name = conversation.contact.name
                    if name not in _as_stored(case.text) or _squash(sanitize_line(name)) not in author:
                        problems.append(f"{case.vector.name}: name shown as {author!r}, sent {case.text!r}")
                    checked["name"] += 1
                if case.header == "subject":
                    subject = conversation.subject or ""
                    if subject not in _as_stored(case.text) or _squash(sanitize_line(subject)) not in _squash(
                        header
                    ):
                        problems.append(
                            f"{case.vector.name}: subject shown as {header!r}, sent {case.text!r}"
                        )
                    checked["subject"] += 1
                checked["messages"] += 1
            await pilot.press("escape")
    await backend.aclose()
    assert not problems, f"{len(problems)} vectors not shown as sent:\n" + "\n".join(problems[:40])
    assert checked["messages"] == len(cases)
    assert checked["expect"] == sum(len(case.vector.expect) for case in cases)
    assert checked["expanded"] >= 1
    assert checked["name"] >= 30 and checked["subject"] >= 30, checked
