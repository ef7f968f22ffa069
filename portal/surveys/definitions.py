"""Survey definitions: the versioned TOML files of the top-level ``surveys/`` folder.

``load_definitions`` reads and checks every ``*.toml`` file of the folder (the checks are in
``portal.surveys.checker``); any problem raises a ``DefinitionError`` listing *all* of them, each
naming the file, the question (when there is one) and what is wrong, so ``flask surveys check``
can print them one a line. ``definition_for`` picks the survey a trigger starts. The format is
described in ``surveys/README.md``. No Flask here.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from portal.surveys.checker import _check_document, _Problems, _shown_path
from portal.surveys.schema import SURVEYS_DIR, Definition, DefinitionError, from_document


def check(folder: Path = SURVEYS_DIR) -> tuple[dict[str, Definition], list[str]]:
    """Every valid definition of ``folder`` by key, and every problem found (one line each)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}, [f"{folder}: no such folder"]
    definitions: dict[str, Definition] = {}
    problems: list[str] = []
    files_by_id: dict[str, list[Path]] = {}
    by_trigger: dict[str, Definition] = {}
    for path in sorted(folder.glob("*.toml")):
        definition, file_problems, key = _read_file(path)
        problems.extend(file_problems)
        if key:
            files_by_id.setdefault(key, []).append(path)
        if definition is None:
            continue
        if definition.trigger in by_trigger:
            other = _shown_path(by_trigger[definition.trigger].path)
            problems.append(
                f'{_shown_path(path)}: trigger "{definition.trigger}" is already '
                f"used by {other}; one survey per trigger"
            )
            continue
        definitions[definition.key] = definition
        by_trigger[definition.trigger] = definition
    for key, paths in files_by_id.items():
        # The file named after the id owns it; the others (misnamed) are told whose it is.
        owner = next((p for p in paths if p.name == f"{key}.toml"), paths[0])
        problems.extend(
            f'{_shown_path(path)}: id "{key}" is also the id of '
            f"{_shown_path(owner)}; each survey needs its own id"
            for path in paths
            if path != owner
        )
    problems.sort(key=lambda line: line.split(": ", 1)[0])  # stable: by file, in file order
    return definitions, problems


_cache: dict[Path, tuple[str, dict[str, Definition]]] = {}


def load_definitions(folder: Path = SURVEYS_DIR) -> dict[str, Definition]:
    """Every definition of ``folder`` by key; ``DefinitionError`` lists all problems.

    Parsed once per content of the folder (the files are hashed, not parsed, on later calls)."""
    folder = Path(folder).resolve()
    signature = _folder_signature(folder)
    cached = _cache.get(folder)
    if cached is not None and cached[0] == signature:
        return dict(cached[1])
    definitions, problems = check(folder)
    if problems:
        raise DefinitionError(problems)
    _cache[folder] = (signature, definitions)
    return dict(definitions)


def definition_for(trigger: str, folder: Path = SURVEYS_DIR) -> Definition | None:
    """The survey a trigger starts (at most one per trigger), or None."""
    return next((d for d in load_definitions(folder).values() if d.trigger == trigger), None)


def _folder_signature(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


def _read_file(path: Path) -> tuple[Definition | None, list[str], str | None]:
    """(the definition if the file is valid, its problems, its id if it has a valid one)."""
    problems = _Problems(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        problems.add("the file is not UTF-8 text")
        return None, problems.lines, None
    except tomllib.TOMLDecodeError as error:
        problems.add(_toml_error(error))
        return None, problems.lines, None
    except OSError as error:
        problems.add(f"cannot be read ({error.strerror})")
        return None, problems.lines, None
    document = _check_document(data, path, problems)
    key = document["id"]
    if problems.lines:
        return None, problems.lines, key
    return from_document(document, path), [], key


def _toml_error(error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        reason = message[: match.start()]
        return f"line {match.group(1)}: not valid TOML: {reason} (column {match.group(2)})"
    match = re.search(r"\s*\(at end of document\)$", message)
    if match:
        return f"at the end of the file: not valid TOML: {message[: match.start()]}"
    return f"not valid TOML: {message}"
