"""The catalog search's scoring rule written the direct way: the reference the index is held to.

:class:`PlainScan` scores every dataset, every field, every query word (slow, obviously
right). ``tests/test_search_index.py`` checks that :class:`meshlab.catalog.search.SearchIndex`
returns the same datasets in the same order for any query, limit and catalog;
``benchmarks/sidebar_search.py`` times the index against it.
"""

from __future__ import annotations

import math

from meshlab.catalog.contract import Dataset
from meshlab.catalog.search import FIELD_WEIGHTS, MIN_PREFIX, PREFIX_FACTOR, terms


def _match(word: str, found: set[str]) -> float:
    if word in found:
        return 1.0
    return PREFIX_FACTOR if len(word) >= MIN_PREFIX and any(t.startswith(word) for t in found) else 0.0


class PlainScan:
    """Search by scanning: the fields' terms are gathered once, every query scores every dataset."""

    def __init__(self, datasets: list[Dataset]):
        self.datasets = datasets
        self.fields = [
            {
                "address": set(terms(d.address) + terms(d.name)),
                "title": set(terms(d.title)),
                "tags": {t for tag in d.tags for t in terms(tag)},
                "columns": {t for c in d.columns for t in terms(c.name)},
                "description": set(terms(d.description)),
                "column_descriptions": {t for c in d.columns for t in terms(c.description)},
            }
            for d in datasets
        ]
        counts: dict[str, int] = {}
        for doc in self.fields:
            for term in set().union(*doc.values()):
                counts[term] = counts.get(term, 0) + 1
        total = max(len(datasets), 1)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in counts.items()}

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        """Datasets matching ``text``, best first, at most ``limit`` (None or 0: all); for a
        query of no terms, the first ``limit`` datasets as given."""
        query = list(dict.fromkeys(terms(text)))
        if not query:
            return self.datasets[:limit]
        scored = []
        for position, (ds, doc) in enumerate(zip(self.datasets, self.fields)):
            score, matched = 0.0, 0
            for word in query:
                best = max(w * _match(word, doc[f]) for f, w in FIELD_WEIGHTS.items())
                if best:
                    matched += 1
                    score += best * self.idf.get(word, 1.0)
            if matched:
                coverage = matched / len(query)
                penalty = 0.5 if ds.status in ("deprecated", "retired") else 1.0
                scored.append((-(score * coverage * coverage * penalty), position, ds))
        scored.sort(key=lambda item: (item[0], item[1]))
        found = [ds for _, _, ds in scored]
        return found[:limit] if limit else found


def reference_search(datasets: list[Dataset], text: str, limit: int | None = None) -> list[Dataset]:
    """:meth:`PlainScan.search` over ``datasets`` built for this one query."""
    return PlainScan(datasets).search(text, limit)
