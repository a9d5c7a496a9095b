"""The `[notify]` section of the config file: strict keys like the rest, kept when the config
is written back, and read by the console's notifications room as the agent meant it."""

from __future__ import annotations

import pytest

from agent_console.client.config import ConfigError, NotifySettings, dump_config, parse_config
from agent_console.tui.notifications import Notifications

TEXT = """\
[notify]
mention = true
new_conversation = false
bell = false
desktop = "osc777"
quiet = true
interval = 30
"""


def test_notify_section_parses_and_round_trips() -> None:
    config = parse_config(TEXT)
    assert config.notify == NotifySettings(
        mention=True, new_conversation=False, bell=False, desktop="osc777", quiet=True, interval=30
    )
    assert parse_config(dump_config(config)).notify == config.notify  # `auth login` keeps it


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "[notify]\nmentions = true\n",
            "line 2: unknown key 'mentions' in [notify] (known keys: new_conversation",
        ),
        ('[notify]\ndesktop = "beep"\n', "line 2: desktop: invalid enum value 'beep' in [notify]"),
        ("[notify]\ninterval = 0\n", "line 2: interval: expected `int` >= 1 in [notify]"),
        ('[notify]\nbell = "yes"\n', "line 2: bell: expected `bool | null`, got `str` in [notify]"),
    ],
)
def test_notify_section_is_strict(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert says in caught.value.message


def test_the_console_reads_the_settings_as_meant() -> None:
    room = Notifications(None, parse_config(TEXT).notify, env={"TERM_PROGRAM": "iTerm.app"})  # type: ignore[arg-type]
    assert "new_conversation" not in room.kinds and "mention" in room.kinds and "sla_breached" in room.kinds
    assert room.protocol == "osc777" and not room.bell and room.quiet and room.throttle.interval == 30
    default = Notifications(None, None, env={"TERM_PROGRAM": "iTerm.app", "TMUX": "/tmp/t,1,0"})  # type: ignore[arg-type]
    assert default.kinds and default.bell and default.toast and not default.quiet
    assert default.protocol == "osc9" and default.tmux and default.throttle.interval == 10
