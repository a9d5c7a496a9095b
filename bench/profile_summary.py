"""Summarise a pyinstrument session by function: where the time goes, flat.

    python -m bench.profile_summary FILE.pyisession [--top N] [--match TEXT]

Prints the functions with the most inclusive time (a function counted once per stack,
however deep it recurses) and the most self time. `--match` keeps functions whose file or
name contains TEXT (e.g. agent_console). Sessions come from runs with BENCH_PROFILE_DIR set.
"""

from __future__ import annotations

import argparse
from collections import Counter


def summarise(path: str, top: int = 25, match: str | None = None) -> str:
    from pyinstrument.session import Session

    session = Session.load(path)
    root = session.root_frame()
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()

    def key(frame) -> str:  # noqa: ANN001 - pyinstrument Frame
        return f"{frame.function}  {frame.file_path_short}:{frame.line_no}"

    def walk(frame, on_stack: frozenset[str]) -> None:  # noqa: ANN001
        name = key(frame)
        if name not in on_stack:
            inclusive[name] += frame.time
        stack = on_stack | {name}
        for child in frame.children:
            if child.function.startswith("[self]") or child.identifier.startswith("[self]"):
                self_time[name] += child.time  # pyinstrument's pseudo-frame for the parent's own time
            else:
                walk(child, stack)
        if not frame.children:
            self_time[name] += frame.time

    if root is None:
        return "empty session"
    walk(root, frozenset())
    idle = sum(t for name, t in inclusive.items() if name.startswith("epoll.poll"))
    lines = [
        f"{path}: {session.duration:.1f} s recorded, {session.cpu_time:.1f} s CPU,"
        f" {idle:.1f} s waiting in the event loop's poll",
        "",
        "inclusive s  function",
    ]
    keep = (lambda n: match in n) if match else (lambda n: True)
    for name, seconds in [(n, t) for n, t in inclusive.most_common() if keep(n)][:top]:
        lines.append(f"{seconds:10.2f}  {name}")
    lines += ["", "self s      function"]
    for name, seconds in [(n, t) for n, t in self_time.most_common() if keep(n)][:top]:
        lines.append(f"{seconds:10.2f}  {name}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match")
    args = parser.parse_args()
    print(summarise(args.session, args.top, args.match))


if __name__ == "__main__":
    main()
