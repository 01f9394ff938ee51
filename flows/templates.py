"""Message templates: Jinja2 in a sandbox, checked against the lead columns.

Templates see the lead's columns and nothing else: no globals, no attributes that
start with an underscore, no huge repetitions. Every template is compiled and
tried before the first request, so a broken one stops the campaign while nothing
has been sent. A lead whose value for a used column is empty gets no message.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from flows.errors import TemplateError

MAX_RENDERED_CHARS = 100_000


class _CampaignSandbox(SandboxedEnvironment):
    """The sandbox, also refusing `*` and `**` results too big for a message."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: Any, operator_name: str, left: Any, right: Any
    ) -> Any:
        if operator_name == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise SecurityError("exponent too large for a message template")
            return operator.pow(left, right)
        if isinstance(right, int) and isinstance(left, str | list | tuple):
            if len(left) * right > MAX_RENDERED_CHARS:
                raise SecurityError("repetition too large for a message template")
        if isinstance(left, int) and isinstance(right, str | list | tuple):
            if len(right) * left > MAX_RENDERED_CHARS:
                raise SecurityError("repetition too large for a message template")
        return operator.mul(left, right)


class _OptionalUndefined(StrictUndefined):
    """Strict, except that `{% if column %}` works on an empty value."""

    def __bool__(self) -> bool:
        return False


class _BlankOutput(Exception):
    """An expression printed None or nothing, where a value was meant to be."""


def _refuse_blank(value: Any) -> Any:
    # `{{ first_name or '' }}` and `|default(none)` would print a blank or "None".
    if isinstance(value, Undefined):
        # Raises what the undefined stands for: UndefinedError for an empty column,
        # SecurityError for an attribute the sandbox hid, and so on.
        value._fail_with_undefined_error()
    if value is None:
        raise _BlankOutput
    if isinstance(value, str) and not value.strip():
        raise _BlankOutput
    return value


def _environment() -> SandboxedEnvironment:
    env = _CampaignSandbox(
        undefined=_OptionalUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        finalize=_refuse_blank,
    )
    env.globals.clear()
    return env


class MissingValue(Exception):
    """A lead has no value for a column its message needs."""

    def __init__(self, columns: list[str], reason: str = "") -> None:
        self.columns = columns
        super().__init__(reason or "missing " + ", ".join(columns))


@dataclass(frozen=True)
class CompiledTemplate:
    parameter: str
    variables: frozenset[str]
    template: Any

    def render(self, lead: Mapping[str, str]) -> str:
        """The message for one lead; raises MissingValue if a used value is empty."""
        context = {name: value for name, value in lead.items() if value != ""}
        try:
            text = self.template.render(context)
        except (UndefinedError, _BlankOutput):
            missing = sorted(name for name in self.variables if not lead.get(name))
            raise MissingValue(missing or sorted(self.variables)) from None
        if not text.strip():
            raise MissingValue(sorted(self.variables) or [self.parameter])
        if len(text) > MAX_RENDERED_CHARS:
            raise MissingValue(
                [], f"{self.parameter} longer than {MAX_RENDERED_CHARS} characters"
            )
        return text


def compile_template(
    parameter: str, source: str, columns: list[str]
) -> CompiledTemplate:
    """Compile a template and check it against the lead columns.

    Raises:
        TemplateError: on a syntax error, an unsafe expression, a column the lead
            file does not have, or an error when tried on a sample lead.
    """
    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            parameter, f"syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    _refuse_private_access(parameter, tree)

    variables = frozenset(meta.find_undeclared_variables(tree))
    missing = sorted(variables - set(columns))
    if missing:
        raise TemplateError(
            parameter,
            f"names the column(s) {', '.join(map(repr, missing))} that the lead file "
            f"does not have; its columns are {', '.join(columns)}. Fix the template "
            "or add the column",
        )

    compiled = CompiledTemplate(parameter, variables, env.from_string(source))
    _try_on_sample(compiled, columns)
    return compiled


def _refuse_private_access(parameter: str, tree: nodes.Template) -> None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else _constant(node.arg)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateError(
                parameter,
                f"reaches for {name!r} on line {node.lineno}; templates may use lead "
                "columns and filters only",
            )


def _constant(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def _try_on_sample(compiled: CompiledTemplate, columns: list[str]) -> None:
    sample = {column: "Sample" for column in columns}
    try:
        text = compiled.template.render(sample)
    except _BlankOutput:
        raise TemplateError(
            compiled.parameter,
            "prints None or an empty value even when every column has one; "
            "remove that expression",
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            compiled.parameter, f"refused by the sandbox: {exc}"
        ) from None
    except Exception as exc:  # any runtime error in user code: report, never send
        raise TemplateError(
            compiled.parameter, f"fails on a sample lead: {type(exc).__name__}: {exc}"
        ) from None
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(
            compiled.parameter,
            f"renders {len(text)} characters on a sample lead; the limit is "
            f"{MAX_RENDERED_CHARS}",
        )
