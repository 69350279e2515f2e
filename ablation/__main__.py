"""``ablation COMMAND [overrides]``: the console script over the five commands.

``ablation run ...`` is ``python -m ablation.run ...``; likewise ``plan``, ``export``, ``report``
and ``track``.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "run": ("ablation.run", "plan, sweep and train a grid of attention x placement configs"),
    "plan": ("ablation.plan.__main__", "plan a grid without training: yamls, plan.csv, preflight"),
    "export": ("ablation.report.export", "write the results table (CSV) of the runs in the tracking store"),
    "report": ("ablation.report.command", "write report.html with figures and verdicts"),
    "track": ("ablation.track.__main__", "print where the runs are and the dashboard link"),
}


def usage() -> str:
    lines = ["usage: ablation COMMAND [overrides ...]   (each command answers --help)", "", "commands:"]
    lines += [f"  {name:<8}{text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if args else 2)
    name = args[0]
    if name not in COMMANDS:
        print(f"error: unknown command '{name}'; use one of {', '.join(COMMANDS)}.", file=sys.stderr)
        sys.exit(2)
    sys.argv = [f"ablation {name}", *args[1:]]
    from ablation.config.errors import plugin_exit

    with plugin_exit():
        code = importlib.import_module(COMMANDS[name][0]).main()
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
