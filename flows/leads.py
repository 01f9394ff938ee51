"""Reading lead and suppression lists the way people really export them.

A list can come from a local path, a ``file://`` URL or an http(s) URL. The reader
accepts UTF-8 with or without a byte order mark, UTF-16 with one, and falls back to
cp1252; it detects comma, semicolon, tab or pipe delimiters from the header line;
it matches headers ignoring case, spaces, ``_`` and ``-``, with the usual aliases.
Every cell is trimmed, and placeholder cells such as ``None`` or ``N/A`` become empty
so that no message can print them.
"""

from __future__ import annotations

import io
import re
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
from email_validator import EmailNotValidError, validate_email

from flows.errors import LeadFileError

MAX_FILE_BYTES = 200 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 60.0

# Canonical column name for each header spelling, after _header_key().
ALIASES: dict[str, str] = {
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "emails": "email",
    "workemail": "email",
    "businessemail": "email",
    "firstname": "first_name",
    "first": "first_name",
    "givenname": "first_name",
    "nombre": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "apellido": "last_name",
    "company": "company",
    "companyname": "company",
    "organization": "company",
    "organisation": "company",
    "account": "company",
    "accountname": "company",
    "empresa": "company",
    "linkedin": "linkedin_url",
    "linkedinurl": "linkedin_url",
    "linkedinprofile": "linkedin_url",
    "linkedinprofileurl": "linkedin_url",
    "personlinkedinurl": "linkedin_url",
}

# Cells that spreadsheets and CRMs write for "no value".
PLACEHOLDERS = frozenset(
    {
        "none", "null", "nil", "nan", "n/a", "n.a.", "na", "#n/a", "undefined",
        "-", "--", "?", "(blank)", "(empty)", "#ref!", "#value!", "#name?",
        "#div/0!", "#null!", "#num!",
    }
)  # fmt: skip
# Characters that print as nothing; a cell made of them is empty.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Anything that looks like one address, for suppression lists written by hand.
_ADDRESS = re.compile(r"[^\s<>,;:\"'()\[\]]+@[^\s<>,;:\"'()\[\]]+")

# A conservative subset of valid addresses, checked in bulk; anything it does not
# match goes through email-validator one by one.
_FAST_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?!(?:test|local|localhost|invalid|onion|arpa)$)[a-z]{2,24}"
)
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)

DROP_NO_AT = "no @ in email"
DROP_INVALID = "invalid email"
DROP_DUPLICATE = "duplicate email"
DROP_SUPPRESSED = "suppressed"


@dataclass
class DroppedRow:
    """A row left out of the campaign, with its 1-based data row number."""

    row: int
    reason: str
    masked_email: str


@dataclass
class LeadList:
    """Leads ready for a campaign, and the rows that were left out."""

    leads: list[dict[str, str]]
    columns: list[str]
    dropped: list[DroppedRow] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def dropped_by_reason(self) -> dict[str, int]:
        return dict(Counter(row.reason for row in self.dropped))


def mask_email(email: str) -> str:
    """Show an address as ``a***@example.com``, enough to tell leads apart."""
    local, at, domain = email.rpartition("@")
    if not at:
        return (email[:1] + "***") if email else ""
    return f"{local[:1]}***@{domain}"


def redact_location(location: str) -> str:
    """A file location fit for a message: no query string, no credentials."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))
    return location


def read_bytes(location: str, parameter: str) -> bytes:
    """Fetch a file from a path, a file:// URL or an http(s) URL."""
    where = redact_location(location)
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(location, parameter, where)
    if scheme == "file":
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(location).path))
    elif scheme and len(scheme) > 1:
        raise LeadFileError(
            f"{parameter}: {where!r} uses the scheme {scheme!r}; "
            "give a local path, a file:// URL or an http(s) URL"
        )
    else:
        path = Path(location).expanduser()
    if not path.is_file():
        raise LeadFileError(f"{parameter}: no file at {str(path)!r}; check the path")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise LeadFileError(
            f"{parameter}: {str(path)!r} is larger than {MAX_FILE_BYTES} bytes; "
            "split the list into smaller campaigns"
        )
    return path.read_bytes()


def _fetch_http(url: str, parameter: str, where: str) -> bytes:
    try:
        with httpx.stream(
            "GET", url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                raise LeadFileError(
                    f"{parameter}: {where!r} answered HTTP {response.status_code}; "
                    "check the URL and that the file is shared"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise LeadFileError(
                        f"{parameter}: {where!r} is larger than {MAX_FILE_BYTES} "
                        "bytes; split the list into smaller campaigns"
                    )
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise LeadFileError(
            f"{parameter}: could not download {where!r} ({type(exc).__name__})"
        ) from None
    data = b"".join(chunks)
    if "html" in content_type.lower() or _looks_like_html(data):
        raise LeadFileError(
            f"{parameter}: {where!r} answered an HTML page, not a CSV file; "
            "use the file's direct download link"
        )
    return data


def _looks_like_html(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def decode(data: bytes) -> str:
    """Text from bytes: UTF-16 or UTF-8 by byte order mark, then UTF-8, then cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Line by line, so one cp1252 line in a UTF-8 export does not turn every
    # accent in the file into mojibake. cp1252 leaves five bytes undefined: keep
    # them visible rather than fail.
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    return "\n".join(_decode_line(line) for line in lines)


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def detect_delimiter(text: str) -> str:
    """The delimiter used most on the header line, outside quotes; ',' if none."""
    header = _first_record(text)
    counts = {sep: 0 for sep in (",", ";", "\t", "|")}
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _first_record(text: str) -> str:
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            return text[:index]
    return text


def _excel_separator_hint(text: str) -> tuple[str, str]:
    # Excel writes "sep=;" as the first line when asked to; it is not the header.
    first, newline, rest = text.partition("\n")
    match = re.fullmatch(r"\s*sep=(.)\s*", first)
    return (match.group(1), rest) if match and newline else ("", text)


def _header_key(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", header.replace("\ufeff", "").strip().lower())


def canonical_column(header: str) -> str:
    """The name a template uses for a header: an alias, or the header in snake_case."""
    key = _header_key(header)
    if key in ALIASES:
        return ALIASES[key]
    snake = re.sub(r"[^0-9a-z]+", "_", header.replace("\ufeff", "").strip().lower())
    return snake.strip("_")


def read_table(data: bytes, parameter: str) -> pd.DataFrame:
    """Every cell as trimmed text, columns renamed to their canonical names."""
    text = decode(data)
    if not text.strip():
        raise LeadFileError(f"{parameter}: the file is empty; export it again")
    sep, text = _excel_separator_hint(text)
    sep = sep or detect_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise LeadFileError(
            f"{parameter}: the file is not valid CSV ({_parser_detail(exc)}); "
            "check for an unclosed quote or a stray delimiter"
        ) from None
    frame = frame.fillna("")
    headers = [str(value) for value in frame.iloc[0]]
    if len(headers) == 1 and "@" in headers[0]:
        # A one-column list whose first line is an address has no header.
        headers = ["email"]
    else:
        frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = _canonical_headers(headers, parameter)
    for column in frame.columns:
        cells = frame[column].str.replace(_INVISIBLE, "", regex=True).str.strip()
        frame[column] = cells.mask(cells.str.lower().isin(PLACEHOLDERS), "")
    return frame


def _parser_detail(exc: Exception) -> str:
    # pandas says "Expected 4 fields in line 3, saw 5"; keep that part only.
    match = re.search(r"Expected \d+ fields in line \d+, saw \d+", str(exc))
    return match.group(0) if match else type(exc).__name__


def _canonical_headers(headers: list[str], parameter: str) -> list[str]:
    names: list[str] = []
    seen: dict[str, str] = {}
    for position, header in enumerate(headers, start=1):
        name = canonical_column(header) or f"column_{position}"
        if name in seen:
            raise LeadFileError(
                f"{parameter}: the columns {seen[name]!r} and {header!r} both mean "
                f"{name!r}; keep one of them"
            )
        seen[name] = header
        names.append(name)
    return names


def normalize_emails(emails: pd.Series) -> pd.Series:
    """Trim, drop a ``mailto:`` prefix, lowercase."""
    emails = emails.str.strip().str.replace(_MAILTO, "", regex=True)
    emails = emails.str.strip().str.lower()
    if not emails.map(str.isascii).all():
        # One spelling per address: composed accents, and the Unicode form of a
        # punycode domain (the form email-validator reports).
        emails = emails.str.normalize("NFC")
    return emails.map(_unicode_domain)


def _unicode_domain(email: str) -> str:
    local, at, domain = email.rpartition("@")
    if not at or "xn--" not in domain:
        return email
    try:
        return f"{local}@{domain.encode('ascii').decode('idna')}"
    except (UnicodeError, ValueError):
        return email


def _valid_emails(emails: pd.Series) -> pd.Series:
    valid = emails.str.fullmatch(_FAST_EMAIL)
    for index in emails.index[~valid]:
        try:
            validate_email(emails[index], check_deliverability=False)
        except EmailNotValidError:
            continue
        valid[index] = True
    return valid


def load_leads(
    location: str,
    parameter: str = "leads_csv_url",
    *,
    require_rows: bool = True,
) -> LeadList:
    """Read, clean and dedupe a lead list.

    Rows without ``@`` or with an address that is not valid are dropped, as are
    repeats of an address already seen (the first row wins). A file with no email
    column is an error, never a list of zero leads.
    """
    frame = _read_email_table(location, parameter)
    if require_rows and frame.empty:
        raise LeadFileError(f"{parameter}: the file has a header but no lead rows")

    frame["email"] = normalize_emails(frame["email"])
    rows = pd.Series(range(1, len(frame) + 1), index=frame.index)
    has_at = frame["email"].str.contains("@", regex=False)
    if require_rows and not has_at.any():
        raise LeadFileError(
            f"{parameter}: not one of the {len(frame)} row(s) has an address with "
            "@ in the email column; check that the right column is named email"
        )
    # Only cells with an @ are worth validating; the rest are dropped already.
    valid = _valid_emails(frame["email"][has_at]).reindex(frame.index, fill_value=False)
    duplicate = valid & frame["email"].where(valid).duplicated(keep="first")

    dropped = _dropped(frame, rows, ~has_at, DROP_NO_AT)
    dropped += _dropped(frame, rows, has_at & ~valid, DROP_INVALID)
    dropped += _dropped(frame, rows, duplicate, DROP_DUPLICATE)
    kept = frame[valid & ~duplicate]
    dropped.sort(key=lambda row: row.row)
    return LeadList(
        kept.to_dict("records"), list(frame.columns), dropped, rows[kept.index].tolist()
    )


def _dropped(
    frame: pd.DataFrame, rows: pd.Series, mask: pd.Series, reason: str
) -> list[DroppedRow]:
    # Whole columns at once: a cell lookup per row took 40 s on 2 million rows.
    numbers = rows[mask].tolist()
    emails = frame.loc[mask, "email"].tolist()
    return [
        DroppedRow(int(number), reason, mask_email(email))
        for number, email in zip(numbers, emails, strict=True)
    ]


def suppress(leads: LeadList, suppressed: set[str]) -> LeadList:
    """Leave out every lead whose address is on the suppression list."""
    if not suppressed:
        return leads
    kept: list[dict[str, str]] = []
    rows: list[int] = []
    dropped = list(leads.dropped)
    for lead, row in zip(leads.leads, leads.rows, strict=True):
        if lead["email"] in suppressed:
            dropped.append(DroppedRow(row, DROP_SUPPRESSED, mask_email(lead["email"])))
        else:
            kept.append(lead)
            rows.append(row)
    dropped.sort(key=lambda dropped_row: dropped_row.row)
    return LeadList(kept, leads.columns, dropped, rows)


def load_suppression(location: str, parameter: str = "suppression_csv_url") -> set[str]:
    """Addresses never to contact, normalized like the leads.

    Suppression errs on the side of not mailing: every address-like piece of a
    cell counts ("Bo <bo@example.com>", two in one cell, a trailing dot), whether
    or not it is a valid address.
    """
    frame = _read_email_table(location, parameter)
    found = frame["email"].str.findall(_ADDRESS).explode().dropna()
    return set(normalize_emails(found.str.rstrip(".")))


def _read_email_table(location: str, parameter: str) -> pd.DataFrame:
    frame = read_table(read_bytes(location, parameter), parameter)
    if "email" not in frame.columns:
        raise LeadFileError(
            f"{parameter}: no email column among {list(frame.columns)!r}; "
            "name one 'email' (also accepted: 'Email Address', 'E-mail', 'Mail')"
        )
    return frame
