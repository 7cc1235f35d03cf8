"""All ffmpeg filtergraph escaping lives here (two levels, as ffmpeg's docs describe).

Level 1 escapes an option *value* for the option parser (`key=value:key=value`).
Level 2 escapes a whole filter argument string for the graph parser (`a,b;c[d]`).
User text never reaches a filter string (text is rendered to images), but file-derived values
and expressions still go through these so a `:` or `,` can never break the graph.
"""

from __future__ import annotations

_VALUE_SPECIALS = "\\':"
_GRAPH_SPECIALS = "\\'[],;"


def _backslash(text: str, specials: str) -> str:
    return "".join("\\" + ch if ch in specials else ch for ch in text)


def escape_value(value: str) -> str:
    """Escape one option value so the option parser reads it back unchanged."""
    return _backslash(value, _VALUE_SPECIALS)


def escape_graph(args: str) -> str:
    """Escape a filter's joined argument string for the filtergraph parser."""
    return _backslash(args, _GRAPH_SPECIALS)


def format_number(value: float) -> str:
    """Numbers without float noise: 2.5 -> '2.5', 3.0 -> '3', 1/3 -> '0.333333333'."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.9f}".rstrip("0").rstrip(".")
