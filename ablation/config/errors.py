"""The errors of a command line that cannot run: ``ConfigError`` (it does not compose) and its
subclass ``OptionError`` (an option's value is unknown or impossible). Each is one sentence naming
the fix; the commands print it as ``error: ...`` and exit 2 before anything is planned or recorded.

The step that uses an option defines its valid values and raises ``OptionError`` (e.g.
``ablation.report.family.CorrectionError``); ``ablation.config.checks`` calls those checks for a
whole command line. Nothing here imports another step.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from collections.abc import Iterator, Sequence
from typing import Any


class ConfigError(ValueError):
    """The command line does not compose into a valid configuration."""


class OptionError(ConfigError):
    """An option's value is unknown or impossible (one sentence naming the nearest valid value)."""


class PluginError(ConfigError):
    """A module named in ``ABLATION_PLUGINS`` cannot be imported (raised by ``ablation.attention``)."""


@contextlib.contextmanager
def plugin_exit() -> Iterator[None]:
    """Around a command: a ``PluginError`` (raised wherever ``ablation.attention`` is first imported)
    is printed as ``error: ...`` and the command exits 2."""
    try:
        yield
    except PluginError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def nearest(value: Any, choices: Sequence[str]) -> str:
    """The choice closest to ``value`` (``difflib``'s ratio); the first choice when none is close."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.0)
    return close[0] if close else choices[0]


def not_one_of(key: str, value: Any, choices: Sequence[str], error: type[OptionError] = OptionError) -> OptionError:
    """``key=value is not one of a, b, c; the nearest is key=b.`` as ``error``."""
    return error(f"{key}={value} is not one of {', '.join(choices)}; the nearest is {key}={nearest(value, choices)}.")


def as_number(key: str, value: Any, kind: type, example: str, error: type[OptionError] = OptionError) -> Any:
    """``value`` as an ``int`` or ``float``; a bool, a non-number or (for ``int``) a fraction
    raises ``error`` (``2.0`` is 2)."""
    try:
        number = None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or (kind is int and not number.is_integer()):
        whole = "a whole number" if kind is int else "a number"
        raise error(f"{key}={value} is not {whole}; e.g. {key}={example}.")
    return int(number) if kind is int else number


def as_bool(key: str, value: Any, error: type[OptionError] = OptionError) -> bool:
    """``value`` when it is ``true`` or ``false`` (as YAML reads them); anything else raises ``error``."""
    if not isinstance(value, bool):
        raise error(f"{key}={value} is not true or false; e.g. {key}=true.")
    return value
