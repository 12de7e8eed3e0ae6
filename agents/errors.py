"""The one error hierarchy of commons-lab: every error a user can cause or meet is a ``LabError``.

Each carries a one-line message that says what to do next and the exit status the command line
ends with, so ``cli.main`` and the page catch errors by type, never by name or module. It lives
in the lowest layer because every layer raises them.
"""

from __future__ import annotations


class LabError(Exception):
    """An error reported to the user as one line."""

    exit_code = 1


class BadInputError(LabError):
    """A config, an argument, an output folder or a recorded file the user gave is not usable."""

    exit_code = 2


class ServiceError(LabError):
    """A server the run needs is unreachable, broken or lacks a model."""

    exit_code = 3
