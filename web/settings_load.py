"""Reading the options: ``COLLAB_*`` variables with the command line's values on top,
and what is wrong with a value, said with the flag or variable it came from.

The options themselves (their fields, names and the README's table) are
``web.settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from web.settings import Settings, choices, env_names, flags


class InvalidSettings(ValueError):
    """Values that are not what their options expect, one line each in ``problems``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load(
    given: Mapping[str, Any] | None = None, spelled: Mapping[str, str] | None = None
) -> Settings:
    """Settings from ``COLLAB_*`` variables, with ``given`` on top.

    Args:
        given: values by option name, from the command line (strings are parsed
            as from the environment).
        spelled: the flag each given option was set with (an old name, perhaps).

    Raises:
        InvalidSettings: a line per bad value, naming its flag or variable and
            what was expected.
    """
    given = dict(given or {})
    try:
        return Settings(**given)
    except ValidationError as error:
        lines = [_problem(e, given, spelled or {}) for e in error.errors(include_url=False)]
        raise InvalidSettings(lines) from None


def _problem(error: ErrorDetails, given: Mapping[str, Any], spelled: Mapping[str, str]) -> str:
    found = str(error["loc"][0]) if error["loc"] else ""
    name = next(
        (n for n in Settings.model_fields if found.upper() in {n.upper(), *env_names(n)}), found
    )
    if name in given:
        where = spelled.get(name, flags(name)[0] if name in Settings.model_fields else name)
    else:  # the environment: the variable that was read (the new name wins)
        names = env_names(name)
        where = next((n for n in names if n in os.environ), names[0])
    if name.endswith(("_url", "_token")):  # may hold a password: never echoed to a log
        return f"{where}: {_expected(name, error)}"
    return f"{where}: {_expected(name, error)}, got {error['input']!r}"


def _expected(name: str, error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    match error["type"]:
        case "int_parsing" | "int_from_float" | "int_type":
            return "expected a whole number"
        case "float_parsing" | "float_type" | "finite_number":
            return "expected a number"
        case "bool_parsing" | "bool_type":
            return "expected true or false"
        case "literal_error":
            return "expected one of " + ", ".join(choices(name))
        case "greater_than":
            return f"expected more than {ctx['gt']:g}"
        case "greater_than_equal":
            return f"expected {ctx['ge']:g} or more"
        case "less_than":
            return f"expected less than {ctx['lt']:g}"
        case "value_error":
            return str(ctx["error"])
        case _:
            return error["msg"]
