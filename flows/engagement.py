"""Asking the engagement endpoint whether a lead opened or replied."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

import httpx

from flows.webhooks import read_capped


@dataclass(frozen=True)
class Engagement:
    opened: bool = False
    replied: bool = False
    # Why the answer could not be used; empty when it could.
    problem: str = ""


NOT_ENGAGED = Engagement()


def engagement_url(base: str, email: str) -> str:
    """The check URL with ``email=<address>`` added to its query."""
    joiner = "&" if urllib.parse.urlsplit(base).query else "?"
    if base.endswith(("?", "&")):
        joiner = ""
    return f"{base}{joiner}{urllib.parse.urlencode({'email': email})}"


def check_engagement(
    client: httpx.Client, base_url: str, email: str, timeout: float
) -> Engagement:
    """GET the endpoint; any failure or odd answer counts as not engaged."""
    try:
        with client.stream(
            "GET", engagement_url(base_url, email), timeout=timeout
        ) as response:
            status = response.status_code
            content = read_capped(response, timeout)
    except httpx.HTTPError as exc:
        return Engagement(problem=f"request failed ({type(exc).__name__})")
    if status != 200:
        return Engagement(problem=f"answered HTTP {status}")
    try:
        body = json.loads(content)
    except ValueError:
        return Engagement(problem="answered something that is not JSON")
    return parse_engagement(body)


def parse_engagement(body: object) -> Engagement:
    """Read ``{"opened": bool, "replied": bool}``; a missing key means false."""
    if not isinstance(body, dict):
        return Engagement(problem="answered JSON that is not an object")
    opened = body.get("opened", False)
    replied = body.get("replied", False)
    if not isinstance(opened, bool) or not isinstance(replied, bool):
        return Engagement(problem="answered 'opened'/'replied' that are not true/false")
    return Engagement(opened=opened, replied=replied)
