"""Demo content for the desk server: Lumo Mobile, a fictional travel eSIM carrier.

`build_dataset` returns a complete, deterministic help desk (agents, teams, knowledge
base, canned responses, contacts and conversations); `random_inbound`,
`random_follow_up` and `random_impatient_ping` feed the live traffic simulator. The
records are the frozen dataclasses in `agent_console.demo.seeds`.
"""

from agent_console.demo.dataset import (
    build_dataset,
    load_agents,
    load_canned,
    load_kb_articles,
    load_teams,
    random_follow_up,
    random_give_up,
    random_impatient_ping,
    random_inbound,
)

__all__ = [
    "build_dataset",
    "load_agents",
    "load_canned",
    "load_kb_articles",
    "load_teams",
    "random_follow_up",
    "random_give_up",
    "random_impatient_ping",
    "random_inbound",
]
