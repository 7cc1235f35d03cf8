"""The filter graph as immutable data, compiled to ffmpeg's filtergraph syntax by pure functions.

    graph = FilterGraph((
        Chain(("0:v",), (Filter.of("scale", 1280, 720), Filter.of("format", pix_fmts="yuv420p")), ("v0",)),
    ))
    graph.compile()  ->  "[0:v]scale=1280:720,format=pix_fmts=yuv420p[v0]"
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reelforge.ffmpeg.escape import escape_graph, escape_value, format_number

ArgValue = str | int | float


def _format_value(value: ArgValue) -> str:
    if isinstance(value, (int, float)):
        return format_number(value)
    return escape_value(value)


@dataclass(frozen=True)
class Filter:
    """One ffmpeg filter with positional and named (ordered) arguments."""

    name: str
    args: tuple[ArgValue, ...] = ()
    kwargs: tuple[tuple[str, ArgValue], ...] = ()

    @classmethod
    def of(cls, name: str, *args: ArgValue, **kwargs: ArgValue | None) -> Filter:
        """Build a filter; keyword arguments that are None are left out."""
        named = tuple((k, v) for k, v in kwargs.items() if v is not None)
        return cls(name, tuple(args), named)

    def compile(self) -> str:
        parts = [_format_value(a) for a in self.args]
        parts += [f"{k}={_format_value(v)}" for k, v in self.kwargs]
        if not parts:
            return self.name
        return f"{self.name}={escape_graph(':'.join(parts))}"


@dataclass(frozen=True)
class Chain:
    """A linear chain of filters from labelled input pads to labelled output pads."""

    inputs: tuple[str, ...]
    filters: tuple[Filter, ...]
    outputs: tuple[str, ...]

    def compile(self) -> str:
        ins = "".join(f"[{label}]" for label in self.inputs)
        outs = "".join(f"[{label}]" for label in self.outputs)
        body = ",".join(f.compile() for f in self.filters) or "null"
        return f"{ins}{body}{outs}"


@dataclass(frozen=True)
class FilterGraph:
    """A whole `-filter_complex` graph: an ordered tuple of chains."""

    chains: tuple[Chain, ...] = field(default_factory=tuple)

    def plus(self, chains: Iterable[Chain]) -> FilterGraph:
        return FilterGraph(self.chains + tuple(chains))

    def compile(self) -> str:
        """One chain per line; ffmpeg accepts newlines between chains."""
        return ";\n".join(chain.compile() for chain in self.chains)

    def output_labels(self) -> set[str]:
        produced = {label for c in self.chains for label in c.outputs}
        consumed = {label for c in self.chains for label in c.inputs}
        return produced - consumed
