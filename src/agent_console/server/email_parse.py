"""Read one inbound email: who wrote, what it answers, its text, its files, and whether it is noise.

Standard library only (`email` with the modern policy, `html.parser`): no I/O, so every rule
here can be tested on bytes. What the mail says about itself is untrusted; nothing here
trusts a name to be a path or a header to be well formed.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

MAX_BODY_CHARS = 200_000  # the message body limit of the desk (core/models.Body)
MAX_ATTACHMENTS = 50
# html.parser reads ~1 MB/s on a busy machine; the text kept is 200,000 characters at most,
# so converting more HTML than this would only hold a worker thread (and the GIL) for longer.
MAX_HTML_CHARS = 1_000_000
NOISE_SENDERS = ("mailer-daemon", "postmaster", "noreply-dsn")
BULK_PRECEDENCE = ("bulk", "junk", "list")


class Unreadable(ValueError):
    """A mail whose structure cannot be read at all (MIME nested beyond Python's recursion)."""


@dataclass(slots=True)
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None  # None: over the size limit, only described


@dataclass(slots=True)
class ParsedMail:
    sender: str  # the From address, lower-cased ("" when there is none)
    sender_name: str
    subject: str
    header_id: str | None  # this mail's Message-ID, without the angle brackets
    in_reply_to: list[str]
    references: list[str]
    text: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    # Why this mail must not open or reopen a conversation (auto-reply, bounce, bulk), or None.
    noise: str | None = None
    # For a delivery report (RFC 3464): the Message-ID of the mail that came back, and why.
    bounce_of: str | None = None
    bounce_reason: str = ""


# --- headers ------------------------------------------------------------------------------

_ID = re.compile(r"<([^<>\s]{1,500})>")


def message_ids(value: str | None) -> list[str]:
    """The ids in a Message-ID / In-Reply-To / References header, in order, without brackets."""
    if not value:
        return []
    found = _ID.findall(str(value))
    if not found and str(value).strip() and " " not in str(value).strip():
        found = [str(value).strip()]  # some mailers leave the brackets out
    return list(dict.fromkeys(found))


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser chokes on reads as absent
        return ""
    return "" if value is None else str(value).strip()


def noise_reason(message: EmailMessage, sender: str) -> str | None:
    """Why this mail is automatic (RFC 3834 and the common conventions), or None for a person."""
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"auto-submitted ({auto.split(';')[0]})"
    if _header(message, "Precedence").lower() in BULK_PRECEDENCE:
        return f"precedence {_header(message, 'Precedence').lower()}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(message, name):
            return f"{name.lower()} header"
    if message.get_content_type() == "multipart/report":
        return f"report ({message.get_param('report-type') or 'delivery status'})"
    local = sender.partition("@")[0]
    if local in NOISE_SENDERS:
        return f"sent by {local}"
    return None


# --- HTML to readable text ----------------------------------------------------------------

_BLOCKS = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "address", "dl", "dt", "dd",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0
        # Open links: (href, where their text starts in `parts`), so closing one is O(its text).
        self.links: list[tuple[str | None, int]] = []
        self.pre = 0

    def _newline(self, count: int = 1) -> None:
        self.parts.append("\n" * count)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "blockquote":
            self.quote_depth += 1
            self._newline()
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre += 1
            self._newline(2 if tag in ("p", "h1", "h2", "h3", "table", "ul", "ol") else 1)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self._newline()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            del self.parts[start:]
            self.parts.append(label)
            if href and href.startswith(("http://", "https://", "mailto:")):
                target = href.removeprefix("mailto:")
                if target.rstrip("/") != label.rstrip("/"):
                    self.parts.append(f" ({href})")
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.quote_depth:
            data = data.replace("\n", "\n" + "> " * self.quote_depth)
            if not self.parts or self.parts[-1].endswith("\n"):
                data = "> " * self.quote_depth + data.lstrip()
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body: paragraphs and line breaks kept, lists as dashes,
    links as `text (url)`, quotes as `> ` lines, scripts and styles dropped."""
    maker = _TextMaker()
    try:
        maker.feed(markup[:MAX_HTML_CHARS])
        maker.close()
    except Exception:  # html.parser is lenient; whatever it still refuses reads as no text
        pass
    text = "".join(maker.parts)
    lines = [line.strip() for line in text.splitlines()]
    # At most one blank line in a row.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- quoted history -----------------------------------------------------------------------

_QUOTE_HEADERS = (
    re.compile(r"^On .{0,300}wrote:$", re.IGNORECASE),
    re.compile(r"^Le .{0,300}a écrit\s?:$", re.IGNORECASE),
    re.compile(r"^El .{0,300}escribió:$", re.IGNORECASE),
    re.compile(r"^Am .{0,300}schrieb .{0,200}:$", re.IGNORECASE),
    re.compile(r"^Em .{0,300}escreveu:$", re.IGNORECASE),
    re.compile(r"^-{2,} ?Original Message ?-{2,}$", re.IGNORECASE),
    re.compile(r"^-{2,} ?Forwarded message ?-{2,}$", re.IGNORECASE),
    re.compile(r"^_{10,}$"),  # Outlook's rule before "From: ... Sent: ..."
)


def trim_quoted(text: str) -> str:
    """The new part of a reply: cut at the first "On ... wrote:" (or the like) line and drop
    a trailing block of `>` lines. A mail that is nothing but quote keeps its text."""
    lines = text.splitlines()
    cut = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(p.match(stripped) for p in _QUOTE_HEADERS):
            cut = index
            break
        # "On Mon, ... <a@b>\nwrote:" split over two lines by the sender's mailer.
        if stripped and _QUOTE_HEADERS[0].match(joined) and not stripped.endswith(":"):
            cut = index
            break
    kept = lines[:cut]
    while kept and (kept[-1].strip().startswith(">") or not kept[-1].strip()):
        kept.pop()
    result = "\n".join(kept).strip()
    return result or text.strip()


# --- the whole mail -----------------------------------------------------------------------


def _address(value: str) -> tuple[str, str]:
    """(name, address lower-cased) of a From header; ("", "") when unreadable."""
    pairs = getaddresses([value]) if value else []
    name, addr = pairs[0] if pairs else parseaddr(value)
    return name.strip(), addr.strip().lower()


def _text_part(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset or broken encoding: take the bytes as UTF-8
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content


def _attachments(message: EmailMessage, max_size: int) -> list[ParsedAttachment]:
    found: list[ParsedAttachment] = []
    try:
        parts = list(message.iter_attachments()) if message.is_multipart() else []
    except Exception:
        parts = []
    # Attachments inside a nested multipart/mixed (forwards) count too.
    queue = parts
    while queue and len(found) < MAX_ATTACHMENTS:
        part = queue.pop(0)
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            queue.extend(part.iter_attachments())
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        if payload is None:
            payload = b""
        if isinstance(payload, str):
            payload = payload.encode()
        try:
            name = part.get_filename() or ""
        except Exception:
            name = ""
        found.append(
            ParsedAttachment(
                filename=(name or "attachment")[:255],
                content_type=part.get_content_type()[:100],
                size=len(payload),
                content=payload if len(payload) <= max_size else None,
            )
        )
    return found


def parse(raw: bytes, *, max_attachment: int) -> ParsedMail:
    try:
        return _parse(raw, max_attachment)
    except RecursionError:
        raise Unreadable("the message's MIME structure is nested too deeply") from None


def _parse(raw: bytes, max_attachment: int) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, sender = _address(_header(message, "From"))
    text = _text_part(message)
    text = trim_quoted(text.replace("\r\n", "\n"))[:MAX_BODY_CHARS]
    own_id = message_ids(_header(message, "Message-ID"))
    return ParsedMail(
        sender=sender,
        sender_name=name,
        subject=" ".join(_header(message, "Subject").split())[:300],
        header_id=own_id[0] if own_id else None,
        in_reply_to=message_ids(_header(message, "In-Reply-To")),
        references=message_ids(_header(message, "References")),
        text=text,
        attachments=_attachments(message, max_attachment),
        noise=noise_reason(message, sender),
        **_bounce(message),
    )


def _bounce(message: EmailMessage) -> dict[str, str | None]:
    """Which mail a delivery report returns (its Message-ID) and the status it gives."""
    if message.get_content_type() != "multipart/report":
        return {}
    returned: str | None = None
    reasons: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and returned is None:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                found = message_ids(_header(inner, "Message-ID"))  # type: ignore[arg-type]
                returned = found[0] if found else None
        elif kind == "text/rfc822-headers" and returned is None:
            headers = HeaderParser(policy=email.policy.default).parsestr(_payload_text(part))
            found = message_ids(str(headers.get("Message-ID") or ""))
            returned = found[0] if found else None
        elif kind == "message/delivery-status":
            text = _payload_text(part)
            for field_name in ("Status", "Diagnostic-Code"):
                match = re.search(rf"^{field_name}:\s*(.{{1,200}})$", text, re.MULTILINE | re.IGNORECASE)
                if match:
                    reasons.append(match[1].strip())
    return {"bounce_of": returned, "bounce_reason": "; ".join(dict.fromkeys(reasons))[:300]}


def _payload_text(part: Message) -> str:
    """A part's text, whatever the policy made of it (delivery-status parts become header blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(str(block) for block in payload)
    if isinstance(payload, str):
        return payload
    raw = part.get_payload(decode=True) or b""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def address_parts(address: str) -> tuple[str, str, str] | None:
    """(local part, +tag, domain) of an address, lower-cased; None when it is not one."""
    try:
        parsed = Address(addr_spec=address.strip().strip("<>"))
    except Exception:
        return None
    local, domain = parsed.username.lower(), parsed.domain.lower()
    if not local or not domain:
        return None
    base, _, tag = local.partition("+")
    return base, tag, domain
