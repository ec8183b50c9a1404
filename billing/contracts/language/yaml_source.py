"""Document structure: YAML text -> a mapping that remembers the line of every key and item,
with numbers kept exact (floats become ``Decimal`` from their source text)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import yaml

from billing.core.problems import Problem


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line of its own start and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: ~10x faster


#: A contract file is a few kilobytes; past this it is refused before parsing.
MAX_DOCUMENT_CHARACTERS = 1_000_000
#: Values a document may expand to (aliases counted each time they are used), so an alias bomb
#: is refused instead of expanding to gigabytes when stored.
MAX_DOCUMENT_VALUES = 100_000


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe YAML with exact numbers (floats become Decimal from their source text), dates that
    are not real left as text (the reader reports them with their line), and every duplicate
    key remembered (YAML would keep the last one silently)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                loader.duplicates.append((str(key_node.value), key_node.start_mark.line + 1))
            seen.add(key_node.value)
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[str(key) if not isinstance(key, str) else key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> Decimal | str:
    text = str(node.value).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return text  # .inf / .nan: left as text, refused by the number checks


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(node.value)  # 2026-02-30: the reader says it is not a calendar date


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)  # type: ignore[arg-type]


def read_document(
    text: str, source: str, shape: str = "a contract file holds one mapping (contract: ..., charges: ...)"
) -> tuple[LineDict | None, list[Problem]]:
    """Parse YAML text into a mapping with line numbers, or report why it is not one (``shape``
    says what the file should hold)."""
    if len(text) > MAX_DOCUMENT_CHARACTERS:
        return None, [
            Problem("too_large", f"a contract file has at most {MAX_DOCUMENT_CHARACTERS:,} characters", source)
        ]
    if "\x00" in text:
        return None, [
            Problem(
                "yaml",
                "not valid YAML: the file holds a NUL character",
                source,
                text[: text.index("\x00")].count("\n") + 1,
            )
        ]
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem("yaml", f"not valid YAML: {reason}", source, line)]
    except RecursionError:
        return None, [Problem("too_large", "the document nests too deeply", source)]
    finally:
        loader.dispose()
    if not isinstance(document, LineDict):
        return None, [Problem("yaml", shape, source, 1)]
    if _expanded_size(document, MAX_DOCUMENT_VALUES) > MAX_DOCUMENT_VALUES:
        return None, [Problem("too_large", f"the document expands to more than {MAX_DOCUMENT_VALUES:,} values", source)]
    problems = [
        Problem(
            "duplicate_key",
            f"the key {key!r} appears twice in one mapping (YAML would keep the last)",
            source,
            line,
            key,
        )
        for key, line in loader.duplicates
    ]
    return (None, problems) if problems else (document, [])


def _expanded_size(value: Any, budget: int) -> int:
    """How many values the document holds once aliases are expanded, counting no further than
    just past ``budget``."""
    count = 0
    stack = [value]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def to_plain(value: Any) -> Any:
    """The document as JSON-storable data (Decimals and dates as strings)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
