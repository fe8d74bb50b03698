"""The study folder's record of its first invocation (``study.json``) and the checks of ``--resume``.

A study folder (``<storage>/<study>-<profile>``) is never overwritten: a second command without
``--resume`` is refused, and a ``--resume`` must plan the same trials (a fingerprint of the plan) and
track them in the same MLflow store as the command that started it. The record holds the redacted
tracking URI only (a password stays in memory, ``study.guard.redact``); ``study.launch`` writes it once Ray
has accepted the study's resources.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ips.config import to_dict
from study.guard.lock import LOCK_FILE
from study.guard.redact import is_redacted, redact_argv, redact_uri
from study.plan import Plan, StudyError

INVOCATION_FILE = "study.json"  # what the first invocation ran, checked by --resume


def plan_fingerprint(plan: Plan) -> str:
    """A hash of everything that decides the trials, to refuse a --resume with different flags."""
    content = {
        "base": to_dict(plan.base),
        "trials": [trial.overrides for trial in plan.trials],
        "search": repr(plan.search),
        "seeds": list(plan.seeds),
    }
    return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]


def python_command() -> str:
    """This interpreter, as a printed command starts it: the venv's own python (a bare ``python``
    outside the venv lacks the project's packages), quoted for a shell."""
    return shlex.quote(sys.executable)


def command_line(argv: Sequence[str]) -> str:
    """``<this python> -m study.run ARGS`` as a shell would need it (every word quoted where it must
    be), a secret of a URI shown as ``***``."""
    return f"{python_command()} -m study.run " + shlex.join(redact_argv(argv))


def resume_command(argv: Sequence[str], storage: Path, tracking_uri: str) -> str:
    """The same command with --resume (and the storage and store it used, spelled out), run by this
    interpreter so that it works pasted into any shell; a password in the tracking URI is ``***``."""
    words = list(argv)
    if "--storage" not in argv:
        words += ["--storage", str(storage)]
    if "--tracking-uri" not in argv:
        words += ["--tracking-uri", tracking_uri]
    if "--resume" not in argv:
        words.append("--resume")
    return command_line(words)


def check_storage(study_folder: Path, plan: Plan, tracking_uri: str, *, resume: bool, uri_given: bool) -> str:
    """Refuse to overwrite a study or to resume a different one; returns the tracking URI to use
    (``uri_given``: whether the command line named one, else it is the runner's default)."""
    record_path = study_folder / INVOCATION_FILE
    if not resume:
        # A folder holding only the lock of a driver that stopped before it recorded anything is new.
        if study_folder.exists() and {path.name for path in study_folder.iterdir()} - {LOCK_FILE}:
            raise StudyError(
                f"{study_folder} already holds a run of study {plan.study.name!r} (profile "
                f"{plan.profile_name!r}); add --resume to continue it, or choose another --storage "
                "(nothing logged is ever deleted)"
            )
        return tracking_uri
    if not record_path.is_file():
        raise StudyError(
            f"--resume: nothing to resume in {study_folder}; run without --resume to start the study"
        )
    record = read_invocation(record_path)
    if record["fingerprint"] != plan_fingerprint(plan):
        raise StudyError(
            f"--resume: the study in {study_folder} was started with other settings ({record['command']}); "
            "resume with the same flags, or choose another --storage to start anew"
        )
    if uri_given and redact_uri(tracking_uri) != record["tracking_uri"]:
        raise StudyError(
            f"--resume: this study is tracked in {record['tracking_uri']}, not {redact_uri(tracking_uri)}; "
            "leave out --tracking-uri or give that one"
        )
    if not uri_given and is_redacted(record["tracking_uri"]):
        raise StudyError(
            f"--resume: this study is tracked in {record['tracking_uri']}, whose password is not stored; "
            "give --tracking-uri with it again"
        )
    return tracking_uri if uri_given else record["tracking_uri"]


def read_invocation(record_path: Path) -> dict[str, Any]:
    """The record of the first invocation, or a StudyError if it is empty or damaged."""
    try:
        record = json.loads(record_path.read_text())
        if not all(isinstance(record.get(key), str) for key in ("fingerprint", "tracking_uri", "command")):
            raise ValueError("a field is missing")
    except (OSError, ValueError, AttributeError) as error:
        raise StudyError(
            f"--resume: {record_path} is empty or damaged ({error}); it records the command that started "
            f"the study: restore it, or start anew with another --storage"
        ) from error
    return record


def write_invocation(study_folder: Path, plan: Plan, tracking_uri: str, argv: Sequence[str]) -> None:
    study_folder.mkdir(parents=True, exist_ok=True)
    record = {
        "study": plan.study.name,
        "profile": plan.profile_name,
        "seeds": list(plan.seeds),
        "tracking_uri": redact_uri(tracking_uri),  # a password stays in memory only
        "fingerprint": plan_fingerprint(plan),
        "command": command_line(argv),
    }
    partial = study_folder / (INVOCATION_FILE + ".partial")  # never a torn study.json
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(study_folder / INVOCATION_FILE)
