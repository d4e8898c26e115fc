"""YAML as curate reads the files a user writes (pipelines, rule sets, expectation suites).

Plain YAML with three refusals, each one located line:
- anchors and aliases (`&name`, `*name`): a few lines of them expand to gigabytes (the
  "billion laughs"), and curate's files are short enough to write out;
- a key given twice in one mapping (YAML would silently keep the last);
- a file over `MAX_BYTES`, or nested deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from curate.errors import ConfigError
from curate.schema_errors import malformed_yaml

MAX_BYTES = 1_000_000
"""Largest pipeline, rule or suite file curate reads (1 MB); real ones are a few KB."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists; real files nest fewer than 10 levels."""


class _NoDuplicateKeys:
    """Construction that refuses a key given twice in one mapping (both loaders below)."""

    source = "YAML"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]  # the yaml Loader this is mixed into
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
        return super().construct_mapping(node, deep)  # type: ignore[misc]


class _StrictLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """The pure-Python parser, which sees every anchor and alias and each level of nesting
    as it composes: it refuses them at their line."""

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


_LIBYAML = getattr(yaml, "CSafeLoader", None)  # absent when PyYAML was built without libyaml


class _FastLoader(_NoDuplicateKeys, _LIBYAML or yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser, about 5x the pure-Python one, which composes in C: it cannot
    refuse anchors or depth at their line, so `_fast_node` checks what it composed."""


def _construct_int(loader: _NoDuplicateKeys, node: yaml.ScalarNode) -> int:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)  # type: ignore[arg-type]
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits: 4,300)
        raise ConfigError(
            f"{loader.source}, line {node.start_mark.line + 1}: a whole number of {len(node.value):,} characters ({node.value[:6]}…); "
            "no setting takes a number that long"
        ) from None


for _loader in (_StrictLoader, _FastLoader):
    _loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _fast_node(text: str, source: str) -> tuple[Any, yaml.Node | None] | None:
    """(data, node tree) through libyaml (a run parses the built-in rule sets in every
    worker process), for text without what only the pure-Python loader locates: an
    anchor or alias (its events are scanned when the text has a `&` or `*` at all),
    nesting deeper than MAX_DEPTH (checked on the composed tree), a syntax error. None
    when the strict loader must decide."""
    if _LIBYAML is None:
        return None
    loader = _FastLoader(text)
    loader.source = source
    try:
        if ("&" in text or "*" in text) and any(
            isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) for event in yaml.parse(text, Loader=_LIBYAML)
        ):
            return None
        node = loader.get_single_node()
        stack = [(node, 1)] if node is not None else []
        while stack:
            current, depth = stack.pop()
            if depth > MAX_DEPTH:
                return None
            if isinstance(current, yaml.SequenceNode):
                stack.extend((child, depth + 1) for child in current.value)
            elif isinstance(current, yaml.MappingNode):
                stack.extend((child, depth + 1) for pair in current.value for child in pair)
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError:
        return None  # the strict loader words the error the same way every time
    finally:
        loader.dispose()


def read_limited(path: Path, what: str) -> str:
    """The text of a user's file of kind `what` (e.g. "pipeline file"), refused above MAX_BYTES."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ConfigError(f"{path}: the {what} is {size:,} bytes; curate reads {what}s of at most {MAX_BYTES:,} bytes (1 MB)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        if b"\0" in exc.object and not exc.object.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # no text file holds a NUL byte, but for one saved as UTF-16 (Notepad's "Unicode"), which its mark says
            raise ConfigError(f"{path}: binary data, not a {what} (YAML text); check the path") from None
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: not UTF-8 text (byte {exc.object[exc.start]:#04x}); save the {what} as UTF-8") from None


def load(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """(data, its node tree) of YAML `text`; `source` names the file in errors."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: {len(text):,} characters; curate reads files of at most {MAX_BYTES:,} bytes (1 MB)")
    fast = _fast_node(text, source)
    if fast is not None:
        return fast
    loader = _StrictLoader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as exc:
        raise malformed_yaml(exc, source) from None
    finally:
        loader.dispose()
