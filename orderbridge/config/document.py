"""Read a YAML configuration file into plain data, remembering the line of every key and list item,
refusing duplicate keys, and filling in ${VAR} references from the environment."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from orderbridge.config.errors import KeyPath, Problem, format_key_path
from orderbridge.config.syntax import explain

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """Safe YAML, minus two YAML 1.1 surprises: only true/false are booleans (a status map may well
    have a code `NO` or `OFF`), and dates stay text (timestamps are parsed by the field that needs them)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

# `$${` is a literal `${`; `${` without its `}` is an error rather than silently kept.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_INNER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


@dataclass
class Document:
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    from_env: dict[KeyPath, tuple[str, ...]] = field(default_factory=dict)  # values built from ${VAR}
    env_values: dict[KeyPath, list[str]] = field(default_factory=dict)  # what each ${VAR} put there
    unresolved: set[KeyPath] = field(default_factory=set)  # values naming a variable that is not set
    # Values naming a variable that is not set, kept as written because the caller does not need them
    # (a command that reads only the store): a problem only if the value, as written, is not valid.
    deferred: dict[KeyPath, tuple[str, ...]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """Line of the key (or item) at `path`, else of its nearest ancestor that is in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def problem(self, path: KeyPath, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(format_key_path(path), line or self.line_of(path), message))


# A reference written unquoted where YAML gives `{` and `}` a meaning (`auth: {bearer: ${TOKEN}}`) is
# swapped for a plain token before parsing and swapped back in each value; line numbers do not move.
_UNPARSED_REFERENCE = re.compile(r"(?<!\$)\$\{[^}\n]*\}")


class _Shield:
    def __init__(self, text: str) -> None:
        self.nonce = secrets.token_hex(4)
        self.originals: list[str] = []
        self.text = _UNPARSED_REFERENCE.sub(self._token, text)
        self.pattern = re.compile(rf"obenv{self.nonce}x(\d+)x")

    def _token(self, match: re.Match[str]) -> str:
        self.originals.append(match.group(0))
        return f"obenv{self.nonce}x{len(self.originals) - 1}x"

    def restore(self, value: str) -> str:
        if not self.originals or "obenv" not in value:
            return value
        return self.pattern.sub(lambda m: self.originals[int(m.group(1))], value)


# Far beyond any real configuration (a few levels deep, a few thousand values), and small enough that
# a hostile file (deep nesting, an "alias bomb" of anchors referring to anchors) is refused at once.
MAX_DEPTH = 40
MAX_VALUES = 100_000


class _TooLarge(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        self.line, self.message = line, message


def read_document(
    text: str, environ: Mapping[str, str], may_stay_unset: Callable[[KeyPath], bool] | None = None
) -> Document:
    """`may_stay_unset(path)`: an unset variable in the value at `path` is left as written (see
    `Document.deferred`) instead of being a problem."""
    document = Document()
    shield = _Shield(text)
    loader: _Loader | None = None
    try:
        _check_depth(shield.text)
        loader = _Loader(shield.text)
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        document.problems.append(_syntax_problem(shield.text, exc))
        return document
    except yaml.reader.ReaderError as exc:  # a control character (NUL, ...) or invalid text
        line = shield.text.count("\n", 0, exc.position) + 1
        code = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        document.problems.append(
            Problem("", line, f"the file holds a control character ({code}) that YAML does not allow")
        )
        return document
    except _TooLarge as exc:
        document.problems.append(Problem("", exc.line, exc.message))
        return document
    except (yaml.YAMLError, RecursionError) as exc:
        document.problems.append(Problem("", 1, f"not readable as YAML: {type(exc).__name__}"))
        return document
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        document.problems.append(Problem("", 1, "the file is empty; it needs at least a `systems:` section"))
        return document
    document.lines[()] = root.start_mark.line + 1
    try:
        _Builder(loader, document, environ, shield, may_stay_unset).build_root(root)
    except _TooLarge as exc:
        document.data = None
        document.problems.append(Problem("", exc.line, exc.message))
    return document


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before anything recursive reads the file (the parser's
    events come one at a time; composing and validating them recurse)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise _TooLarge(line, f"nested more than {MAX_DEPTH} levels deep; no setting is that deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _syntax_problem(text: str, exc: yaml.MarkedYAMLError) -> Problem:
    # Built from the parser's words and position only: its excerpt of the line might show a secret.
    explained = explain(text.splitlines(), exc)
    if explained is not None:
        return Problem("", explained[0], explained[1])
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        what = f"{exc.problem} ({exc.context})"
    if mark is None:
        return Problem("", 1, f"YAML syntax error: {what}")
    return Problem("", mark.line + 1, f"YAML syntax error at column {mark.column + 1}: {what}")


class _Builder:
    def __init__(
        self,
        loader: _Loader,
        document: Document,
        environ: Mapping[str, str],
        shield: _Shield,
        may_stay_unset: Callable[[KeyPath], bool] | None = None,
    ) -> None:
        self.may_stay_unset = may_stay_unset
        self.loader = loader
        self.shield = shield
        self.document = document
        self.environ = environ
        self.active: set[int] = set()  # nodes being built: an alias into one of them is a cycle
        self.values = 0  # values built, aliases expanded: bounded by MAX_VALUES

    def build_root(self, root: yaml.Node) -> None:
        self.document.data = self.build(root, ())

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if id(node) in self.active:
            self.document.problem(path, "an alias refers to a node that contains it")
            return None
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge(
                node.start_mark.line + 1,
                f"the file expands to more than {MAX_VALUES} values through its aliases (*name); "
                "refer to fewer anchors, or to smaller ones",
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, child in enumerate(node.value):
                    self.document.lines[(*path, index)] = child.start_mark.line + 1
                    items.append(self.build(child, (*path, index)))
                return items
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        return None

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        try:
            value = self.loader.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            self.document.problem(path, exc.problem or "cannot read this value", node.start_mark.line + 1)
            return None
        if isinstance(value, str) and (wrong := _unusable_text(value)) is not None:
            self.document.problem(path, f"the value {wrong}", node.start_mark.line + 1)
            return None
        return self._interpolate(self.shield.restore(value), path) if isinstance(value, str) else value

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                # `<<: *defaults` fills in keys; keys written here win, whatever their order.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    merged = self.build(source, path)
                    if isinstance(merged, dict):
                        for key, value in merged.items():
                            result.setdefault(key, value)
                    else:
                        self.document.problem(path, "`<<` merges mappings only", key_node.start_mark.line + 1)
            else:
                explicit.append((key_node, value_node))
        first_seen: dict[str, int] = {}
        for key_node, value_node in explicit:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.document.problem(path, "a key must be plain text, not a list or mapping", line)
                continue
            # Keys are the text as written: a status map's `10` or `NO` is a native code, not a number.
            key = self.shield.restore(key_node.value)
            if (wrong := _unusable_text(key)) is not None:
                self.document.problem(path, f"a key {wrong}", line)
                continue
            if key in first_seen:
                self.document.problem(
                    (*path, key),
                    f"duplicate key {key!r} (first at line {first_seen[key]}); keep only one",
                    line,
                )
            first_seen[key] = line
            self.document.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result

    def _interpolate(self, text: str, path: KeyPath) -> str:
        if "${" not in text:
            return text
        names: list[str] = []
        unset: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            inner = match.group(1)
            if inner is None:
                self.document.problem(path, "`${` without its closing `}`; write $${ for a literal ${")
                return match.group(0)
            reference = _INNER.fullmatch(inner)
            if reference is None:
                self.document.problem(
                    path, f"invalid reference ${{{inner}}}; expected ${{NAME}} or ${{NAME:-default}}"
                )
                return match.group(0)
            name, default = reference.groups()
            names.append(name)
            value = self.environ.get(name)
            if default is not None and not value:
                value = str(default)
            if value:
                self.document.env_values.setdefault(path, []).append(value)
            if value is None:
                unset.append(name)
                return ""
            return value

        result = _REFERENCE.sub(replace, text)
        if names:
            self.document.from_env[path] = tuple(dict.fromkeys(names))
        if unset and self.may_stay_unset is not None and self.may_stay_unset(path):
            self.document.deferred[path] = tuple(dict.fromkeys(unset))
            return text
        for name in dict.fromkeys(unset):
            self.document.problem(path, f"environment variable {name} is not set")
            self.document.unresolved.add(path)
        return result


def _unusable_text(text: str) -> str | None:
    """Why `text` (written with a YAML escape such as "\\0" or "\\ud800") cannot be a setting."""
    if "\x00" in text:
        return "holds a NUL character (\\0)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (an escape such as \\ud800), which is not valid Unicode text"
    return None
