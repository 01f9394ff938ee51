from __future__ import annotations

import pytest

from flows.errors import TemplateError
from flows.templates import MissingValue, compile_template

COLUMNS = ["email", "first_name", "company"]


def test_template_fills_lead_columns() -> None:
    template = compile_template("s", "{{first_name}}, idea para {{company}}", COLUMNS)

    assert template.render({"first_name": "Ana", "company": "Acme"}) == (
        "Ana, idea para Acme"
    )


def test_empty_value_is_missing_never_blank() -> None:
    template = compile_template("s", "{{first_name}}, idea para {{company}}", COLUMNS)

    with pytest.raises(MissingValue, match="missing company"):
        template.render({"first_name": "Ana", "company": ""})


def test_optional_value_can_be_tested_or_defaulted() -> None:
    template = compile_template(
        "b", "{% if company %}{{ company }}{% else %}tu equipo{% endif %}", COLUMNS
    )
    defaulted = compile_template("b", "{{ company | default('tu equipo') }}", COLUMNS)

    assert template.render({"company": ""}) == "tu equipo"
    assert defaulted.render({"company": ""}) == "tu equipo"


REFUSED = [
    pytest.param("{{ first_name", "syntax error on line 1", id="syntax"),
    pytest.param(
        "{{ title }}", "'title' that the lead file does not have", id="column"
    ),
    pytest.param("{{ ''.__class__.__mro__ }}", "reaches for '__mro__'", id="mro"),
    pytest.param("{{ lipsum.__globals__ }}", "reaches for '__globals__'", id="globals"),
    pytest.param("{{ company['__class__'] }}", "reaches for '__class__'", id="item"),
    pytest.param("{{ range(3) }}", "'range' that the lead file", id="no-globals"),
    pytest.param("{{ 'x' * 1000000 }}", "refused by the sandbox", id="repeat"),
    pytest.param(
        "{{ 1 / 0 }}", "fails on a sample lead: ZeroDivisionError", id="error"
    ),
]


@pytest.mark.parametrize(("source", "message"), REFUSED)
def test_bad_template_is_refused_naming_the_parameter(
    source: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=r"template 'email_body_template': .*"):
        try:
            compile_template("email_body_template", source, COLUMNS)
        except TemplateError as exc:
            assert message in str(exc)
            raise


@pytest.mark.parametrize(
    "source",
    [
        "Hola {{ first_name|default(none) }}",
        "Hola {{ first_name or none }}",
        "Hola {{ first_name|d }}, x",
        "Hola {{ first_name or '' }}!",
        "Hola {{ first_name if first_name }}!",
    ],
)
def test_idioms_that_would_print_none_or_a_blank_skip_the_lead(source: str) -> None:
    template = compile_template("b", source, COLUMNS)

    assert template.render({"first_name": "Ana"}).startswith("Hola Ana")
    with pytest.raises(MissingValue, match="missing first_name"):
        template.render({"first_name": ""})


def test_expression_that_always_prints_nothing_is_refused() -> None:
    with pytest.raises(TemplateError, match="prints None or an empty value"):
        compile_template("b", "Hola {{ none }}", COLUMNS)


def test_message_too_long_for_a_real_lead_is_skipped() -> None:
    template = compile_template(
        "email_body_template",
        "{% for c in company %}{{ company }}{% endfor %}",
        COLUMNS,
    )

    with pytest.raises(MissingValue, match="email_body_template longer than 100000"):
        template.render({"company": "x" * 1999})
