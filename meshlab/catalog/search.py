"""Ranked search over the catalog: names, titles, descriptions, tags, columns.

A small BM25-like scorer with light stemming, so that "plays per country"
finds ``plays.play_events`` (name *play*, column *country*) ahead of datasets
that only mention one of the words in passing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from meshlab.catalog.contract import Dataset

STOP_WORDS = frozenset("a an and by for from in of on or per the to with by each".split())

# Where a word is found matters more than how often: a hit in the name beats
# one in a long description.
FIELD_WEIGHTS = {
    "address": 6.0,
    "title": 4.0,
    "tags": 3.0,
    "columns": 2.5,
    "description": 1.0,
    "column_descriptions": 0.8,
}

_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A deliberately light stemmer: plurals and a few common endings."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text``; snake_case and dots split."""
    return [stem(w) for w in _WORD.findall(text.lower().replace("_", " ")) if w not in STOP_WORDS]


@dataclass(frozen=True)
class _Document:
    dataset: Dataset
    fields: dict[str, frozenset[str]]


def _document(ds: Dataset) -> _Document:
    fields = {
        "address": frozenset(terms(ds.address) + terms(ds.name)),
        "title": frozenset(terms(ds.title)),
        "tags": frozenset(t for tag in ds.tags for t in terms(tag)),
        "columns": frozenset(t for c in ds.columns for t in terms(c.name)),
        "description": frozenset(terms(ds.description)),
        "column_descriptions": frozenset(t for c in ds.columns for t in terms(c.description)),
    }
    return _Document(ds, fields)


class SearchIndex:
    """An index built once per catalog; :meth:`search` is cheap."""

    def __init__(self, datasets: list[Dataset]):
        self._documents = [_document(ds) for ds in datasets]
        counts: dict[str, int] = {}
        for doc in self._documents:
            for term in set().union(*doc.fields.values()):
                counts[term] = counts.get(term, 0) + 1
        total = max(len(self._documents), 1)
        self._idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in counts.items()}

    def _match(self, query_term: str, field_terms: frozenset[str]) -> float:
        if query_term in field_terms:
            return 1.0
        # A prefix ("coun" while typing) counts for less than a whole word.
        if len(query_term) >= 3 and any(t.startswith(query_term) for t in field_terms):
            return 0.5
        return 0.0

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        """Datasets ranked by relevance to ``text``; those matching nothing are left out."""
        query = list(dict.fromkeys(terms(text)))
        if not query:
            return [d.dataset for d in self._documents][:limit]
        scored = []
        for position, doc in enumerate(self._documents):
            score, matched = 0.0, 0
            for term in query:
                best = max(w * self._match(term, doc.fields[f]) for f, w in FIELD_WEIGHTS.items())
                if best:
                    matched += 1
                    score += best * self._idf.get(term, 1.0)
            if matched:
                # Datasets matching more of the words rank first.
                coverage = matched / len(query)
                status_penalty = 0.5 if doc.dataset.status in ("deprecated", "retired") else 1.0
                scored.append((-(score * coverage * coverage * status_penalty), position, doc.dataset))
        scored.sort(key=lambda item: (item[0], item[1]))
        found = [ds for _, _, ds in scored]
        return found[:limit] if limit else found
