"""Credentials out of what is written or printed: ``scheme://user:***@host`` instead of the password.

A tracking URI such as ``http://me:secret@mlflow:5000`` or ``postgresql://me:secret@db/mlflow`` is kept
as given only in memory (and the process environment); ``study.json``, the printed resume command and
every message show its redacted form.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

HIDDEN = "***"
URI_FLAGS = ("--tracking-uri", "--address")


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its user part replaced by ``***`` (unchanged if it has none)."""
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:  # not parseable: shown as given, it holds no user:password@ part we can find
        return uri
    if password is None:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:{HIDDEN}@{host}").geturl()


def is_redacted(uri: str) -> bool:
    """Whether ``uri`` is the redacted form of a URI with a password (as ``study.json`` keeps it)."""
    try:
        return urlsplit(uri).password == HIDDEN
    except ValueError:
        return False


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line with the URIs after ``--tracking-uri`` / ``--address`` (or ``=``) redacted."""
    words: list[str] = []
    for position, word in enumerate(argv):
        flag, equals, value = word.partition("=")
        if equals and flag in URI_FLAGS:
            words.append(f"{flag}={redact_uri(value)}")
        elif position > 0 and argv[position - 1] in URI_FLAGS:
            words.append(redact_uri(word))
        else:
            words.append(word)
    return words
