"""`auth login|logout|status` and `config path|show`: profiles and where tokens live.

Import hygiene: typer and the standard library at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent_console.cli.options import EPILOG, Settings, command, sub_app

auth_app = sub_app(
    "auth",
    "Log in to a desk server and manage stored tokens (named profiles).",
    (
        "agent-console auth login --server https://desk.example.com",
        "agent-console auth status",
        "agent-console auth logout --profile staging",
    ),
)
config_app = sub_app(
    "config",
    "Where the config file is and what it says (it never holds tokens).",
    ("agent-console config path", "agent-console config show -o json"),
)


def _profile_for(settings: Settings, config) -> str:
    from agent_console.client.config import ConfigError, profile_name, validate_profile_name

    try:
        return validate_profile_name(profile_name(config, settings.profile))
    except ConfigError as exc:
        raise typer.BadParameter(exc.message, param_hint="--profile") from None


def _read_token(token_stdin: bool) -> str:
    if token_stdin:
        token = sys.stdin.readline().strip() if sys.stdin is not None else ""
    elif sys.stdin is not None and sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Token (input hidden): ").strip()
    else:
        raise typer.BadParameter(
            "no terminal to prompt for the token: pipe it in with --token-stdin",
            param_hint="--token-stdin",
        )
    if not token:
        raise typer.BadParameter("the token is empty", param_hint="--token-stdin")
    return token


def login(
    settings: Settings,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from stdin instead of a prompt.")
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="PATH",
            help="Store the token in this file (mode 0600) instead of the OS keyring."
            " Plain text: only for hosts without a keyring.",
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option("--ca-bundle", metavar="PATH", help="Trust this CA bundle for the server's TLS."),
    ] = None,
    make_default: Annotated[bool, typer.Option("--default", help="Make this the default profile.")] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            metavar="KIND",
            help="Which help desk answers at --server: native (the desk server, default) or chatwoot.",
        ),
    ] = None,
    account: Annotated[
        int | None,
        typer.Option("--account", metavar="N", min=1, help="Chatwoot: the account number (in its URLs)."),
    ] = None,
    portal: Annotated[
        str | None,
        typer.Option("--portal", metavar="SLUG", help="Chatwoot: the help-center portal for KB search."),
    ] = None,
) -> None:
    """Verify a token with the server and remember it in a profile.

    The token is checked with GET /me, stored in the OS keyring (never in the config file),
    and the profile (server URL, optional CA bundle) is written to the config file. Where
    there is no keyring (SSH, headless), nothing is stored in plain text unless you pass
    --token-file; or skip login and set AGENT_CONSOLE_TOKEN.

    \b
    Examples:
      agent-console auth login --server https://desk.example.com
      agent-console auth login --server http://127.0.0.1:8765 --profile local --token-stdin < token.txt
      agent-console auth login --server https://desk.example.com --token-file ~/.config/agent-console/token
      agent-console auth login --backend chatwoot --server https://chat.example.com --account 1
    """
    from agent_console.cli import runtime
    from agent_console.client import credentials
    from agent_console.client.config import (
        SERVER_ENV,
        ConfigError,
        Connection,
        Profile,
        load_config,
        normalize_server,
        save_config,
    )

    config = load_config()
    name = _profile_for(settings, config)
    existing = config.profiles.get(name)
    server = settings.server or os.environ.get(SERVER_ENV) or (existing.server if existing else None)
    if not server:
        raise typer.BadParameter(f"--server URL is required (profile {name!r} is new)", param_hint="--server")
    try:
        server = normalize_server(server)
    except ConfigError as exc:
        raise typer.BadParameter(exc.message, param_hint="--server") from None
    bundle = str(ca_bundle.expanduser().absolute()) if ca_bundle else None
    if bundle is None and existing is not None and existing.server == server:
        bundle = existing.ca_bundle
    if bundle is not None and not Path(bundle).is_file():
        raise typer.BadParameter(f"{bundle} is not a file", param_hint="--ca-bundle")
    kind = (backend or (existing.backend if existing else None) or "native").lower()
    if kind not in ("native", "chatwoot"):
        raise typer.BadParameter(f"{kind!r}: use native or chatwoot", param_hint="--backend")
    account_id = account or (existing.account_id if existing and existing.backend == "chatwoot" else None)
    portal = portal or (existing.portal if existing and existing.backend == "chatwoot" else None)
    if kind == "chatwoot" and account_id is None:
        raise typer.BadParameter("Chatwoot needs its account number", param_hint="--account")
    if kind == "native" and (account or portal):
        raise typer.BadParameter("--account and --portal are for --backend chatwoot", param_hint="--backend")
    token = _read_token(token_stdin)

    async def check(backend):
        # Chatwoot: GET /api/v1/profile, which also proves the user belongs to the account.
        return await backend.me()

    agent = runtime.run_with(
        Connection(
            server=server,
            token=token,
            profile=name,
            ca_bundle=bundle,
            backend=kind,
            account_id=account_id,
            portal=portal,
        ),
        check,
    )

    stored_in: str | None
    saved_file: str | None = None
    if token_file is not None:
        path = credentials.write_token_file(token_file, token)
        saved_file = str(path)
        stored_in = f"the token file {path}"
        print(
            f"warning: the token is stored in plain text in {path} (mode 0600); anyone who can"
            " read your files or backups can use it",
            file=sys.stderr,
        )
    else:
        try:
            credentials.store_token(name, server, token)
            stored_in = f"the OS keyring ({credentials.keyring_name()})"
        except credentials.NoKeyring:
            stored_in = None
    if existing is not None and existing.token_file and existing.token_file != saved_file:
        Path(existing.token_file).unlink(missing_ok=True)  # do not leave an old copy behind
    chatwoot = kind == "chatwoot"
    config.profiles[name] = Profile(
        server=server,
        ca_bundle=bundle,
        token_file=saved_file,
        backend="chatwoot" if chatwoot else None,
        account_id=account_id if chatwoot else None,
        portal=portal if chatwoot else None,
    )
    if make_default or config.default_profile is None:
        config.default_profile = name
    path = save_config(config)
    if stored_in is None:
        from agent_console.cli.groups import error_line

        error_line(
            "no OS keyring is available here (SSH or headless?), so the token was NOT saved;"
            f" profile {name!r} ({server}) was written to {path}. Set AGENT_CONSOLE_TOKEN in"
            " your environment, or log in again with --token-file PATH to keep it in a file"
            " only you can read"
        )
        raise typer.Exit(1)
    print(
        f"logged in to {server} as {_safe(agent.name)} ({agent.role}); profile {name!r}, token in {stored_in}"
    )


def _safe(text: str) -> str:
    from agent_console.core.sanitize import sanitize_line

    return sanitize_line(text)


def logout(
    settings: Settings,
    forget: Annotated[
        bool, typer.Option("--forget", help="Also remove the profile from the config file.")
    ] = False,
) -> None:
    """Forget a profile's token (keyring entry or token file).

    \b
    Examples:
      agent-console auth logout
      agent-console auth logout --profile staging --forget
    """
    from agent_console.client import credentials
    from agent_console.client.config import Profile, load_config, save_config
    from agent_console.client.errors import NotFound

    config = load_config()
    name = _profile_for(settings, config)
    profile = config.profiles.get(name)
    if profile is None:
        raise NotFound(f"no profile named {name!r}")
    removed = credentials.delete_token(name, profile.server)
    if profile.token_file:
        path = Path(profile.token_file).expanduser()
        removed = path.exists() or removed
        path.unlink(missing_ok=True)
        config.profiles[name] = Profile(
            server=profile.server,
            ca_bundle=profile.ca_bundle,
            backend=profile.backend,
            account_id=profile.account_id,
            portal=profile.portal,
        )
    if forget:
        del config.profiles[name]
        if config.default_profile == name:
            config.default_profile = None
    save_config(config)
    what = "removed its token" if removed else "it had no stored token"
    print(
        f"logged out of profile {name!r} ({profile.server}): {what}"
        + ("; profile forgotten" if forget else "")
    )


def status(settings: Settings) -> None:
    """Show which server and profile you would use, where the token comes from, and who you are.

    Exit 3 when there is no usable token, 6 when the server cannot be reached.

    \b
    Examples:
      agent-console auth status
      agent-console auth status --profile staging -o json
    """
    from agent_console.cli import output, runtime

    conn = runtime.connection(settings)

    async def check(backend):
        return await backend.me()

    agent = runtime.run_with(conn, check)
    out = output.Out(settings)
    source = {"env": "AGENT_CONSOLE_TOKEN", "keyring": "OS keyring", "file": "token file"}
    if settings.quiet:
        out.write(f"{agent.id}\n")
    elif settings.output == "json":
        output.print_json(
            out,
            {
                "profile": conn.profile,
                "server": conn.server,
                "token_source": conn.token_source,
                "ca_bundle": conn.ca_bundle,
                "agent": agent,
            },
        )
    elif settings.output == "csv":
        rows = [
            ("profile", conn.profile),
            ("server", conn.server),
            ("token_source", conn.token_source),
            ("ca_bundle", conn.ca_bundle),
            ("agent_id", agent.id),
            ("agent_name", agent.name),
            ("agent_email", agent.email),
            ("agent_role", agent.role),
        ]
        columns = [output.Column(key, (lambda _, v=value: v)) for key, value in rows]
        output.write_csv(out, [None], columns)
    else:
        lines = [
            f"server:   {conn.server}",
            f"profile:  {conn.profile or '(none: server and token from the environment)'}",
            f"token:    from {source.get(conn.token_source, conn.token_source)}",
        ]
        if conn.ca_bundle:
            lines.append(f"CA:       {conn.ca_bundle}")
        if conn.backend == "chatwoot":
            portal = f", help center {conn.portal!r}" if conn.portal else ", no help-center portal set"
            lines.append(f"desk:     Chatwoot account {conn.account_id}{portal}")
        lines.append(
            f"agent:    {_safe(agent.name)} <{_safe(agent.email)}> ({agent.role}),"
            f" {agent.timezone}, {agent.presence}"
        )
        out.write("\n".join(lines) + "\n")


def config_path_cmd(settings: Settings) -> None:
    """Print the config file's path (AGENT_CONSOLE_CONFIG overrides it).

    \b
    Example:
      $EDITOR "$(agent-console config path)"
    """
    from agent_console.client.config import config_path

    print(config_path())


def config_show(settings: Settings) -> None:
    """Print the config (it never contains tokens), validated.

    \b
    Examples:
      agent-console config show
      agent-console config show -o json
    """
    import msgspec

    from agent_console.client.config import config_path, dump_config, load_config

    path = config_path()
    config = load_config(path)
    if settings.quiet:
        sys.stdout.write("".join(f"{name}\n" for name in sorted(config.profiles)))
    elif settings.output == "json":
        print(msgspec.json.encode(config).decode())
    elif settings.output == "csv":
        print("profile,server,ca_bundle,token_file,default")
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        for name, profile in sorted(config.profiles.items()):
            writer.writerow(
                [
                    name,
                    profile.server,
                    profile.ca_bundle or "",
                    profile.token_file or "",
                    "true" if name == config.default_profile else "false",
                ]
            )
    elif not path.exists():
        print(f"# no config file at {path} yet: `agent-console auth login --server URL` writes one")
    else:
        print(f"# {path}")
        sys.stdout.write(dump_config(config))


def register(app: typer.Typer) -> None:
    command(auth_app, "login", output=False, epilog=EPILOG)(login)
    command(auth_app, "logout", output=False, epilog=EPILOG)(logout)
    command(auth_app, "status", epilog=EPILOG)(status)
    command(config_app, "path", output=False, connection=False, epilog=EPILOG)(config_path_cmd)
    command(config_app, "show", connection=False, epilog=EPILOG)(config_show)
    app.add_typer(auth_app, name="auth")
    app.add_typer(config_app, name="config")
