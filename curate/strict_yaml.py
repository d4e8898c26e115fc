"""YAML as curate reads the files a user writes (pipelines, rule sets, expectation suites).

Plain YAML with three refusals, each one located line:
- anchors and aliases (`&name`, `*name`): a few lines of them expand to gigabytes (the
  "billion laughs"), and curate's files are short enough to write out;
- a key given twice in one mapping (YAML would silently keep the last);
- a file over `MAX_BYTES`, or nested deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from curate.errors import ConfigError
from curate.schema_errors import malformed_yaml

MAX_BYTES = 1_000_000
"""Largest pipeline, rule or suite file curate reads (1 MB); real ones are a few KB."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists; real files nest fewer than 10 levels."""


class _StrictLoader(yaml.SafeLoader):
    source = "YAML"

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise ConfigError(
                f"{self.source}, line {line}: YAML anchors and aliases (&{event.anchor}, *{event.anchor}) are not accepted; "
                "write the value out where it is used"
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConfigError(f"{self.source}, line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep; flatten the file")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader's own error names it
                break
            if first is not None:
                raise ConfigError(
                    f"{self.source}, line {line}: key {key!r} is given twice (lines {first} and {line}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def read_limited(path: Path, what: str) -> str:
    """The text of a user's file of kind `what` (e.g. "pipeline file"), refused above MAX_BYTES."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ConfigError(f"{path}: the {what} is {size:,} bytes; curate reads {what}s of at most {MAX_BYTES:,} bytes (1 MB)")
    return path.read_text(encoding="utf-8")


def load(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """(data, its node tree) of YAML `text`; `source` names the file in errors."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} characters; curate reads files of at most {MAX_BYTES:,} bytes (1 MB)")
    loader = _StrictLoader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as exc:
        raise malformed_yaml(exc, source) from None
    finally:
        loader.dispose()
