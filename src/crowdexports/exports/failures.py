"""Why an export failed, as its owner reads it. Every reason a worker records is built here: a plain
sentence first, then the technical detail. The stored text (the API's `error`) stays English; where it
is shown to a person (the page, the email) its sentence is said again in their language."""

from __future__ import annotations

import re

from crowdexports.errors import CrowdexportsError, Unavailable

STORAGE = "The file could not be stored: the storage did not answer."
UNEXPECTED = "Something went wrong on our side while making the file."
WORKER_LOST = "The export could not be completed: its worker stopped {attempts} times."

_SENTENCES = {
    "fr": {
        STORAGE: "Le fichier n’a pas pu être enregistré : le stockage n’a pas répondu.",
        UNEXPECTED: "Une erreur de notre côté a empêché de créer le fichier.",
        WORKER_LOST: "L’export n’a pas pu être terminé : son traitement s’est arrêté {attempts} fois.",
    },
}
_PATTERNS = [(re.compile(re.escape(sentence).replace(re.escape("{attempts}"), r"(?P<attempts>\d+)")), sentence)
             for sentence in (STORAGE, UNEXPECTED, WORKER_LOST)]


def failure_of(exc: Exception) -> str:
    """The reason recorded for an exception that ended an attempt."""
    if isinstance(exc, Unavailable):
        return f"{STORAGE} {exc}"
    if isinstance(exc, CrowdexportsError):  # already a sentence written for the owner
        return str(exc)
    return f"{UNEXPECTED} ({type(exc).__name__}: {exc})"


def worker_lost(attempts: int) -> str:
    return WORKER_LOST.format(attempts=attempts)


def in_language(error: str, lang: str) -> str:
    """`error` with its sentence in `lang` (its detail as it is); a reason not built here, as it is."""
    sentences = _SENTENCES.get(lang)
    if sentences is None:
        return error
    for pattern, sentence in _PATTERNS:
        found = pattern.match(error)
        if found:
            return sentences[sentence].format(**found.groupdict()) + error[found.end():]
    return error
