"""Where a front end finds its desk server and token: flags, environment, profiles.

The CLI and the TUI both call :func:`resolve_connection`. Precedence, first wins:

* server: the `server` argument (a `--server` flag), `AGENT_CONSOLE_SERVER`, the profile's
  `server`.
* profile: the `profile` argument (`--profile`), `AGENT_CONSOLE_PROFILE`, the config's
  `default_profile`, a profile named `default`.
* token: `AGENT_CONSOLE_TOKEN`, else the profile's token (OS keyring, or the profile's
  `token_file` when the agent opted into one). A profile's token is only ever sent to that
  profile's own server: pointing `--server` elsewhere needs `AGENT_CONSOLE_TOKEN`.
* CA bundle: `AGENT_CONSOLE_CA_BUNDLE`, else the profile's `ca_bundle`; TLS is always verified.

The config file is TOML at `platformdirs.user_config_path("agent-console")/config.toml`
(`AGENT_CONSOLE_CONFIG` overrides the path). It never holds a token::

    default_profile = "work"

    [profiles.work]
    server = "https://desk.example.com"
    ca_bundle = "/etc/ssl/company-ca.pem"   # optional

    [tui]
    theme = "day-shift"
    undo_seconds = 10        # how long `u` can take an action back (3-600)
    take_on_reply = true     # a reply to an unassigned conversation assigns it to you

    [keys]
    "conv.resolve" = "ctrl+r"

    [notify]
    mention = true           # per kind: new_conversation, customer_reply, sla_warning,
    new_conversation = false #   sla_breached, mention (all on by default)
    bell = true              # the terminal bell
    desktop = "auto"         # auto (by TERM_PROGRAM/TERM), osc9, osc777 or off
    toast = true
    quiet = false            # start in quiet mode (no bell, no desktop notice; `M` toggles)
    interval = 10            # seconds: a burst within it comes as one summary (1-3600)

    [presence]
    away_after = "10m"       # idle time before the console sets you away (0: never)

Parsing is strict: an unknown key or a wrong type is an error that names the key and line.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from agent_console.client.errors import BackendError, NotAuthenticated

CONFIG_ENV = "AGENT_CONSOLE_CONFIG"
SERVER_ENV = "AGENT_CONSOLE_SERVER"
TOKEN_ENV = "AGENT_CONSOLE_TOKEN"
PROFILE_ENV = "AGENT_CONSOLE_PROFILE"
CA_BUNDLE_ENV = "AGENT_CONSOLE_CA_BUNDLE"
BACKEND_ENV = "AGENT_CONSOLE_BACKEND"
ACCOUNT_ENV = "AGENT_CONSOLE_ACCOUNT"
PORTAL_ENV = "AGENT_CONSOLE_PORTAL"  # Chatwoot's help-center slug, for KB search
BACKENDS = ("native", "chatwoot")
DEFAULT_PROFILE = "default"

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ConfigError(BackendError):
    """The config file (or a setting) is unusable; the message says where and why."""

    exit_code = 1


class Profile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    server: str
    ca_bundle: str | None = None
    # Only when the agent opted in with `auth login --token-file PATH` (no keyring here).
    token_file: str | None = None
    # Which help desk answers at `server`: None (our desk server) or "chatwoot".
    backend: Literal["native", "chatwoot"] | None = None
    # Chatwoot: the account (its number in the dashboard's URL) and help-center portal slug.
    account_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    portal: str | None = None


class TuiSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    # night-shift (dark), day-shift (light), high-contrast, terminal (the terminal's palette)
    theme: str | None = None
    # None: on when SSH_CONNECTION is set.
    low_bandwidth: bool | None = None
    # How long `u` can take an action back (None: 10 s).
    undo_seconds: Annotated[int, msgspec.Meta(ge=3, le=600)] | None = None
    # A reply to an unassigned conversation assigns it to you (None: true).
    take_on_reply: bool | None = None
    # Minutes: the Urgent view also shows conversations due within this (None: 15).
    urgent_window: Annotated[int, msgspec.Meta(ge=0, le=1440)] | None = None


class NotifySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    # Per kind of notice (None: on).
    new_conversation: bool | None = None
    customer_reply: bool | None = None
    sla_warning: bool | None = None
    sla_breached: bool | None = None
    mention: bool | None = None
    # Outputs (None: on; desktop None: auto, by TERM_PROGRAM/TERM).
    toast: bool | None = None
    bell: bool | None = None
    desktop: Literal["auto", "osc9", "osc777", "off"] | None = None
    # Start in quiet mode: toasts only, no bell or desktop notice (None: false).
    quiet: bool | None = None
    # Seconds between notices: what comes within it is one summary (None: 10).
    interval: Annotated[int, msgspec.Meta(ge=1, le=3600)] | None = None


class PresenceSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    # Idle time before the console sets you away: "10m", "90s", "1h", 0 = off (None: 10m).
    away_after: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+[smh]?$")] | int | None = None


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    default_profile: str | None = None
    profiles: dict[str, Profile] = {}
    tui: TuiSettings | None = None
    # Key remaps for the console: binding id -> keys ("conv.resolve" = "ctrl+r").
    keys: dict[str, str] = {}
    notify: NotifySettings | None = None
    presence: PresenceSettings | None = None


@dataclass(frozen=True)
class Connection:
    """Everything needed to open a backend. The token never shows in repr()."""

    server: str
    token: str = field(repr=False)
    profile: str | None = None
    ca_bundle: str | None = None
    token_source: str = "env"  # "env" | "keyring" | "file"
    backend: str = "native"  # "native" (our desk server) | "chatwoot"
    account_id: int | None = None  # Chatwoot's account
    portal: str | None = None  # Chatwoot's help-center portal slug (KB search)

    @property
    def verify(self) -> bool | str:
        """What to pass as httpx's `verify`: a CA bundle path, or True (system trust)."""
        return self.ca_bundle or True


# --- the config file ---------------------------------------------------------------------


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_path

    return user_config_path("agent-console") / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """The config, or an empty one when the file does not exist."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str = "config.toml") -> Config:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    # Profiles one by one: msgspec's error paths do not name dict keys, and we want
    # "[profiles.work]" in the message, not "profiles[...]".
    raw_profiles = data.pop("profiles", {})
    if not isinstance(raw_profiles, dict):
        line = _find_line(text, "profiles", [])
        where = f", line {line}" if line else ""
        raise ConfigError(f"config file {path}{where}: profiles must be tables like [profiles.work]")
    profiles: dict[str, Profile] = {}
    for name, raw in raw_profiles.items():
        try:
            profiles[name] = msgspec.convert(raw, Profile)
        except msgspec.ValidationError as exc:
            raise ConfigError(_explain(str(exc), text, path, ["profiles", name])) from None
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), text, path, [])) from None
    config.profiles = profiles
    for name, profile in config.profiles.items():
        if not _PROFILE_NAME.match(name):
            raise ConfigError(
                f"config file {path}: profile name {name!r} may only use letters, digits, . _ -"
            )
        try:
            normalize_server(profile.server)
        except ConfigError as exc:
            line = _find_line(text, "server", ["profiles", name])
            where = f", line {line}" if line else ""
            raise ConfigError(f"config file {path}{where}: [profiles.{name}] {exc.message}") from None
    if config.default_profile is not None and config.default_profile not in config.profiles:
        line = _find_line(text, "default_profile", [])
        where = f", line {line}" if line else ""
        raise ConfigError(
            f"config file {path}{where}: default_profile {config.default_profile!r}"
            f" names no [profiles.{config.default_profile}] table"
        )
    return config


def _explain(message: str, text: str, path: Path | str, base: list[str]) -> str:
    """Turn msgspec's `... - at `$.server`` (inside table `base`) into a message naming the
    key and its line."""
    detail, _, where = message.partition(" - at ")
    location = [*base, *(p for p in where.strip("`").removeprefix("$").split(".") if p)]
    key: str | None = None
    problem = detail
    unknown = re.match(r"Object contains unknown field `(.+)`", detail)
    missing = re.match(r"Object missing required field `(.+)`", detail)
    if unknown:
        key = unknown.group(1)
        problem = f"unknown key {key!r}"
    elif missing:
        problem = f"missing required key {missing.group(1)!r}"
    elif location:
        key = location.pop()
        problem = f"{key}: {detail[0].lower()}{detail[1:]}" if detail else key
    table = ".".join(location)
    scope = f" in [{table}]" if table else ""
    line = _find_line(text, key, location) if key else _find_table_line(text, location)
    at = f", line {line}" if line else ""
    hint = ""
    if unknown:
        known = {
            "profiles": Profile,
            "tui": TuiSettings,
            "notify": NotifySettings,
            "presence": PresenceSettings,
        }
        allowed = known.get(location[0], Config).__struct_fields__ if location else Config.__struct_fields__
        hint = f" (known keys: {', '.join(allowed)})"
    return f"config file {path}{at}: {problem}{scope}{hint}"


def _find_table_line(text: str, table: list[str]) -> int | None:
    if not table:
        return None
    pattern = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(_key_pattern(p) for p in table) + r"\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _find_line(text: str, key: str, table: list[str]) -> int | None:
    start = (_find_table_line(text, table) or 0) if table else 0
    key_re = re.compile(r"^\s*" + _key_pattern(key) + r"\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if number <= start:
            continue
        if key_re.match(line):
            return number
        if line.lstrip().startswith("["):
            break  # the next table: the key is not in this one
    return None


def _key_pattern(key: str) -> str:
    escaped = re.escape(key)
    return rf"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def dump_config(config: Config) -> str:
    """TOML text for `config` (our small schema only; comments are not kept)."""
    lines: list[str] = []
    if config.default_profile is not None:
        lines.append(f"default_profile = {_toml_str(config.default_profile)}")
    for name, profile in sorted(config.profiles.items()):
        if lines:
            lines.append("")
        lines.append(f"[profiles.{_toml_key(name)}]")
        for key in Profile.__struct_fields__:
            value = getattr(profile, key)
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    settings = config.tui or TuiSettings()
    tui = [
        f"{key} = {_toml_value(getattr(settings, key))}"
        for key in TuiSettings.__struct_fields__
        if getattr(settings, key) is not None
    ]
    if tui:
        lines += ["", "[tui]", *tui] if lines else ["[tui]", *tui]
    if config.keys:
        lines += ["", "[keys]"] if lines else ["[keys]"]
        lines += [f"{_toml_str(ident)} = {_toml_str(keys)}" for ident, keys in sorted(config.keys.items())]
    notify = config.notify or NotifySettings()
    notify_lines = [
        f"{key} = {_toml_value(getattr(notify, key))}"
        for key in NotifySettings.__struct_fields__
        if getattr(notify, key) is not None
    ]
    if notify_lines:
        lines += ["", "[notify]", *notify_lines] if lines else ["[notify]", *notify_lines]
    if config.presence is not None and config.presence.away_after is not None:
        presence_lines = ["[presence]", f"away_after = {_toml_value(config.presence.away_after)}"]
        lines += ["", *presence_lines] if lines else presence_lines
    return "\n".join(lines) + "\n"


def _toml_value(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _toml_str(value)


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; DEL must be escaped too.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_str(key)


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write atomically (a temporary file, then rename), readable by the owner only."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dump_config(config))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


# --- servers and profiles ------------------------------------------------------------------


def normalize_server(url: str) -> str:
    """`https://desk.example.com/` -> `https://desk.example.com`; refuses anything not http(s)."""
    from urllib.parse import urlsplit

    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"server {url!r} is not an http:// or https:// URL (e.g. https://desk.example.com)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"server {url!r} must be a plain base URL, without query or credentials")
    return text.rstrip("/")


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME.match(name):
        raise ConfigError(f"profile name {name!r} may only use letters, digits, . _ - (max 64)")
    return name


def profile_name(config: Config, profile: str | None = None) -> str:
    """The profile to use: explicit, then AGENT_CONSOLE_PROFILE, default_profile, `default`."""
    return profile or os.environ.get(PROFILE_ENV) or config.default_profile or DEFAULT_PROFILE


def resolve_connection(server: str | None = None, profile: str | None = None) -> Connection:
    """The server, token and TLS settings to use, or an actionable NotAuthenticated/ConfigError."""
    env = os.environ
    explicit_profile = profile or env.get(PROFILE_ENV) or None
    server_url = server or env.get(SERVER_ENV) or None
    env_token = (env.get(TOKEN_ENV) or "").strip() or None
    ca_bundle = env.get(CA_BUNDLE_ENV) or None

    # Read (and validate) the config even when flags and environment say everything: a typo
    # in it must not go unnoticed until the day the environment is not set.
    config = load_config()
    name: str | None = None
    chosen: Profile | None = None
    if not (server_url and env_token and not explicit_profile):
        name = profile_name(config, explicit_profile)
        chosen = config.profiles.get(name)
        if chosen is None and explicit_profile:
            known = ", ".join(sorted(config.profiles)) or "none yet"
            raise NotAuthenticated(
                f"no profile named {name!r} in {config_path()} (profiles: {known}); create it with"
                f" `agent-console auth login --server URL --profile {name}`"
            )
    if server_url is None:
        if chosen is None:
            raise NotAuthenticated(
                "no desk server configured: run `agent-console auth login --server URL`,"
                f" pass --server URL, or set {SERVER_ENV}; to try agent-console without one,"
                " `agent-console demo` runs a demo desk on this machine"
            )
        server_url = chosen.server
    server_url = normalize_server(server_url)
    same_server = chosen is not None and normalize_server(chosen.server) == server_url
    if ca_bundle is None and same_server and chosen is not None:
        ca_bundle = chosen.ca_bundle
    if ca_bundle is not None:
        ca_bundle = str(Path(ca_bundle).expanduser())
        if not Path(ca_bundle).is_file():
            raise ConfigError(f"CA bundle {ca_bundle} does not exist or is not a file")

    token, source = env_token, "env"
    if token is None and same_server and chosen is not None and name is not None:
        from agent_console.client import credentials

        if chosen.token_file:
            token, source = credentials.read_token_file(Path(chosen.token_file)), "file"
        else:
            token, source = credentials.get_token(name, server_url), "keyring"
    if token is None:
        login = f"agent-console auth login --server {server_url}"
        if name and name != DEFAULT_PROFILE:
            login += f" --profile {name}"
        raise NotAuthenticated(f"no token for {server_url}: run `{login}`, or set {TOKEN_ENV}")
    backend, account_id, portal = _backend_settings(chosen if same_server else None)
    return Connection(
        server=server_url,
        token=token,
        profile=name if same_server else None,
        ca_bundle=ca_bundle,
        token_source=source,
        backend=backend,
        account_id=account_id,
        portal=portal,
    )


def _backend_settings(profile: Profile | None) -> tuple[str, int | None, str | None]:
    """Which help desk, and (Chatwoot) which account and portal: environment first, then the
    profile. A Chatwoot connection without an account is refused here, with what to set."""
    env = os.environ
    chosen = profile.backend if profile else None
    backend = (env.get(BACKEND_ENV) or "").strip().lower() or chosen or "native"
    if backend not in BACKENDS:
        raise ConfigError(f"{BACKEND_ENV}={backend!r}: the backend is one of {', '.join(BACKENDS)}")
    account_text = (env.get(ACCOUNT_ENV) or "").strip()
    account_id = profile.account_id if profile else None
    if account_text:
        if not account_text.isdigit() or int(account_text) < 1:
            raise ConfigError(f"{ACCOUNT_ENV}={account_text!r} is not an account number (e.g. 1)")
        account_id = int(account_text)
    portal = (env.get(PORTAL_ENV) or "").strip() or (profile.portal if profile else None)
    if backend == "chatwoot" and account_id is None:
        raise ConfigError(
            f"a Chatwoot connection needs its account: set {ACCOUNT_ENV}, or log in with"
            " `agent-console auth login --backend chatwoot --account N`"
        )
    return backend, account_id, portal
