"""The errors a campaign can raise, all raised before the first request is sent.

    OutreachError
     +-- ParameterError   a flow parameter is out of range or inconsistent
     +-- LeadFileError    a lead or suppression file cannot be read or lacks a column
     +-- TemplateError    a template is broken, unsafe, or names a missing column

Every message names the value at fault, what was expected, and how to fix it.
"""

from __future__ import annotations


class OutreachError(Exception):
    """Base class for every error that stops a campaign before it sends."""


class ParameterError(OutreachError, ValueError):
    """A flow parameter has a value the campaign cannot run with."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"parameter {parameter!r}: {message}")


class LeadFileError(OutreachError):
    """A lead or suppression file is missing, unreadable, or lacks a column."""


class TemplateError(OutreachError):
    """A template cannot be compiled, is unsafe, or names a column that is missing."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"template {parameter!r}: {message}")
