from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import LeadFileError
from flows.leads import (
    canonical_column,
    detect_delimiter,
    load_leads,
    load_suppression,
    mask_email,
    suppress,
)


def _write(
    tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "l.csv"
) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


HEADER_ALIASES = [
    pytest.param("Email Address", "email", id="email-address"),
    pytest.param("E-mail", "email", id="e-mail"),
    pytest.param(" EMAIL ", "email", id="upper-padded"),
    pytest.param("First Name", "first_name", id="first-name"),
    pytest.param("first-name", "first_name", id="first-dash-name"),
    pytest.param("Company Name", "company", id="company-name"),
    pytest.param("LinkedIn URL", "linkedin_url", id="linkedin-url"),
    pytest.param("Linkedin_Profile", "linkedin_url", id="linkedin-profile"),
    pytest.param("Job Title", "job_title", id="other-column-snake-case"),
]


@pytest.mark.parametrize(("header", "expected"), HEADER_ALIASES)
def test_headers_match_ignoring_case_spaces_and_dashes(
    header: str, expected: str
) -> None:
    assert canonical_column(header) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("email,name\n", ",", id="comma"),
        pytest.param("email;name;company\n", ";", id="semicolon"),
        pytest.param("email\tname\n", "\t", id="tab"),
        pytest.param('"a;b",c,d\n', ",", id="quoted-semicolon-ignored"),
        pytest.param("email\n", ",", id="single-column"),
    ],
)
def test_delimiter_is_detected_from_the_header(text: str, expected: str) -> None:
    assert detect_delimiter(text) == expected


def test_cp1252_export_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "email,first_name\nano@example.com,Begoña\n", "cp1252")

    leads = load_leads(path)

    assert leads.leads == [{"email": "ano@example.com", "first_name": "Begoña"}]


def test_utf16_export_with_tabs_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "\ufeffE-mail\tFirst Name\nano@example.com\tZoë\n", "utf-16"
    )

    leads = load_leads(path)

    assert leads.leads == [{"email": "ano@example.com", "first_name": "Zoë"}]


def test_quoted_cells_keep_commas_and_line_breaks(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'email,company,notes\nano@example.com,"Acme, Inc.","line one\nline two"\n',
    )

    leads = load_leads(path)

    assert leads.leads[0]["company"] == "Acme, Inc."
    assert leads.leads[0]["notes"] == "line one\nline two"


def test_file_url_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "email\nano@example.com\n")

    assert load_leads(Path(path).as_uri()).leads == [{"email": "ano@example.com"}]


def test_emails_are_trimmed_lowercased_and_lose_mailto(tmp_path: Path) -> None:
    path = _write(tmp_path, "email\n  MAILTO:Ano@Example.COM \n")

    assert load_leads(path).leads == [{"email": "ano@example.com"}]


def test_duplicates_keep_the_first_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "email,first_name\nano@example.com,First\nANO@example.com,Second\n",
    )

    leads = load_leads(path)

    assert leads.leads == [{"email": "ano@example.com", "first_name": "First"}]
    assert [(d.row, d.reason) for d in leads.dropped] == [(2, "duplicate email")]


def test_lead_without_at_is_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, "email\nnot-an-address\nano@example.com\n")

    leads = load_leads(path)

    assert [lead["email"] for lead in leads.leads] == ["ano@example.com"]
    assert [(d.row, d.reason) for d in leads.dropped] == [(1, "no @ in email")]


@pytest.mark.parametrize(
    "address",
    [
        "a@b",
        "two@example.com, three@example.com",
        "a b@example.com",
        "a@@example.com",
        "a@example..com",
        "a@localhost",
    ],
)
def test_invalid_addresses_are_dropped(tmp_path: Path, address: str) -> None:
    path = _write(tmp_path, f'email\n"{address}"\n')

    leads = load_leads(path, require_rows=False)

    assert leads.leads == []
    assert [d.reason for d in leads.dropped] == ["invalid email"]


@pytest.mark.parametrize(
    "address", ["o'neil@example.com", "ano+tag@sub.example.co.uk", "josé@example.com"]
)
def test_unusual_but_valid_addresses_are_kept(tmp_path: Path, address: str) -> None:
    path = _write(tmp_path, f"email\n{address}\n")

    assert [lead["email"] for lead in load_leads(path).leads] == [address]


def test_placeholder_cells_become_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, "email,first_name,company\nano@example.com,None,N/A\n")

    lead = load_leads(path).leads[0]

    assert lead["first_name"] == "" and lead["company"] == ""


def test_no_email_column_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "name,company\nAno,Acme\n")

    with pytest.raises(LeadFileError, match=r"leads_csv_url: no email column"):
        load_leads(path)


def test_two_columns_meaning_email_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "Email,E-mail\na@example.com,b@example.com\n")

    with pytest.raises(LeadFileError, match=r"'Email' and 'E-mail' both mean 'email'"):
        load_leads(path)


def test_missing_file_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(LeadFileError, match=r"suppression_csv_url: no file at"):
        load_suppression(str(tmp_path / "nope.csv"))


def test_unsupported_scheme_is_an_error() -> None:
    with pytest.raises(LeadFileError, match=r"scheme 's3'"):
        load_leads("s3://bucket/leads.csv")


def test_suppression_removes_matching_addresses(tmp_path: Path) -> None:
    leads = load_leads(_write(tmp_path, "email\nano@example.com\nbo@example.com\n"))
    suppressed = load_suppression(
        _write(tmp_path, "Email Address\n BO@example.com\n", name="s.csv")
    )

    kept = suppress(leads, suppressed)

    assert [lead["email"] for lead in kept.leads] == ["ano@example.com"]
    assert [(d.row, d.reason) for d in kept.dropped] == [(2, "suppressed")]


def test_suppression_list_without_header_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "ano@example.com\nbo@example.com\n", name="s.csv")

    assert load_suppression(path) == {"ano@example.com", "bo@example.com"}


def test_leads_over_http_are_read(receiver) -> None:
    from tests.receiver import Reply

    receiver.script("/leads.csv", Reply(200, body="email\nano@example.com\n"))

    assert load_leads(receiver.url("/leads.csv")).leads == [
        {"email": "ano@example.com"}
    ]


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("ana@example.com", "a***@example.com"),
        ("a@b.co", "a***@b.co"),
        ("x@one.com; y@two.com", "x***@two.com"),
    ],
)
def test_masked_email_keeps_only_first_letter_and_domain(
    email: str, masked: str
) -> None:
    assert mask_email(email) == masked


def test_suppression_reads_addresses_in_any_written_form(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'email\nBo Li <bo@example.com>\n<cy@example.com>\n"di@example.com, '
        'ed@example.com"\nfa@example.com.\nmailto:GI@Example.com\n',
        name="s.csv",
    )

    assert load_suppression(path) == {
        "bo@example.com",
        "cy@example.com",
        "di@example.com",
        "ed@example.com",
        "fa@example.com",
        "gi@example.com",
    }


def test_one_spelling_per_address_across_unicode_forms(tmp_path: Path) -> None:
    composed, decomposed = "jos\u00e9@example.com", "jose\u0301@example.com"
    path = _write(
        tmp_path,
        f"email\n{composed}\n{decomposed}\nana@b\u00fccher.de\nana@xn--bcher-kva.de\n",
    )

    leads = load_leads(path)

    assert [lead["email"] for lead in leads.leads] == [composed, "ana@b\u00fccher.de"]
    assert [d.reason for d in leads.dropped] == ["duplicate email"] * 2


def test_suppression_matches_other_unicode_forms(tmp_path: Path) -> None:
    leads = load_leads(_write(tmp_path, "email\njose\u0301@example.com\n"))
    suppressed = load_suppression(
        _write(tmp_path, "email\njos\u00e9@example.com\n", name="s.csv")
    )

    assert suppress(leads, suppressed).leads == []


def test_one_cp1252_line_does_not_garble_the_utf8_ones(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(
        "email,first_name,company\nana@example.com,José,Núñez SL\n".encode()
        + "bo@example.com,Begoña,Beta\n".encode("cp1252")
    )

    leads = load_leads(str(path))

    assert [(lead["first_name"], lead["company"]) for lead in leads.leads] == [
        ("José", "Núñez SL"),
        ("Begoña", "Beta"),
    ]


@pytest.mark.parametrize(
    "value", ["\u200b", "\ufeff", "-", "#REF!", "(blank)", "nil", "#VALUE!"]
)
def test_cells_that_print_as_nothing_are_empty(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"email,first_name\nana@example.com,{value}\n")

    assert load_leads(path).leads[0]["first_name"] == ""


def test_excel_separator_line_is_not_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "sep=;\nemail;company\nana@example.com;Acme, S.L.\n")

    assert load_leads(path).leads == [
        {"email": "ana@example.com", "company": "Acme, S.L."}
    ]


def test_email_column_without_any_address_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "email,name\n,Ana\n,Bo\n")

    with pytest.raises(
        LeadFileError, match=r"not one of the 2 row\(s\) has an address"
    ):
        load_leads(path)
