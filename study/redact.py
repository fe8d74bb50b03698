"""Credentials out of what is written or printed: ``scheme://user:***@host`` instead of the password.

A tracking URI such as ``http://me:secret@mlflow:5000`` or ``postgresql://me:secret@db/mlflow`` is kept
as given only in memory (and the process environment, ``remember``); ``study.json``, the printed resume
command, every message, and every object that Ray or Optuna pickle into the study folder hold its
redacted form, which ``unredact`` turns back into the real one where a client is opened.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit

HIDDEN = "***"
URI_FLAGS = ("--tracking-uri", "--address")
SECRET_ENV = "IPS_TRACKING_URI"  # the real URI, for this process and those it starts (Ray's, on this node)


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


def remember(uri: str) -> None:
    """Keep a URI with a password in the environment, for ``unredact`` (here and in Ray's workers)."""
    if redact_uri(uri) != uri:
        os.environ[SECRET_ENV] = uri


def unredact(uri: str) -> str:
    """The real URI of a redacted one, as ``remember`` kept it; any other URI as given."""
    real = os.environ.get(SECRET_ENV, "")
    return real if is_redacted(uri) and real and redact_uri(real) == uri else uri
