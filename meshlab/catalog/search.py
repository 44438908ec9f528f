"""Ranked search over the catalog: names, titles, descriptions, tags, columns.

A small BM25-like scorer with light stemming, so that "plays per country"
finds ``plays.play_events`` (name *play*, column *country*) ahead of datasets
that only mention one of the words in passing.

The index is inverted (term -> datasets holding it, with the weight of the best
field it is in) over a sorted vocabulary, so a query touches only the datasets
that match one of its words, and a prefix ("coun" while typing) is a range of
the vocabulary found by bisection. A catalog of 10,000 datasets answers in a few
milliseconds (``benchmarks/sidebar_search.py``).
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import re

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

# A prefix ("coun" while typing) counts for less than a whole word, and only
# from this length on.
PREFIX_FACTOR = 0.5
MIN_PREFIX = 3

_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light stemmer: plurals and a few common endings."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text``; snake_case and dots split."""
    return [stem(w) for w in _WORD.findall(text.lower().replace("_", " ")) if w not in STOP_WORDS]


def _field_terms(ds: Dataset) -> dict[str, set[str]]:
    """The terms of each searchable field of ``ds``."""
    return {
        "address": set(terms(ds.address) + terms(ds.name)),
        "title": set(terms(ds.title)),
        "tags": {t for tag in ds.tags for t in terms(tag)},
        "columns": {t for c in ds.columns for t in terms(c.name)},
        "description": set(terms(ds.description)),
        "column_descriptions": {t for c in ds.columns for t in terms(c.description)},
    }


class SearchIndex:
    """An inverted index built once per catalog; :meth:`search` is cheap.

    Scoring, per dataset: for each query word, the weight of the best field it
    matches (a whole word counts fully, a prefix of at least three letters
    half), times the word's inverse document frequency; the sum is multiplied
    by the squared share of query words matched, and halved for deprecated or
    retired datasets. Ties keep catalog order.
    """

    def __init__(self, datasets: list[Dataset]):
        self._datasets = list(datasets)
        # term -> {dataset position: weight of the heaviest field holding the term}
        postings: dict[str, dict[int, float]] = {}
        for position, ds in enumerate(self._datasets):
            for name, found in _field_terms(ds).items():
                weight = FIELD_WEIGHTS[name]
                for term in found:
                    docs = postings.setdefault(term, {})
                    if docs.get(position, 0.0) < weight:
                        docs[position] = weight
        total = max(len(self._datasets), 1)
        self._postings = postings
        self._idf = {t: math.log(1 + (total - len(d) + 0.5) / (len(d) + 0.5)) for t, d in postings.items()}
        self._vocabulary = sorted(postings)
        self._penalty = [0.5 if ds.status in ("deprecated", "retired") else 1.0 for ds in self._datasets]

    def _best_weights(self, query_term: str) -> dict[int, float]:
        """Dataset position -> the best field weight ``query_term`` earns there."""
        best = dict(self._postings.get(query_term, {}))
        if len(query_term) < MIN_PREFIX:
            return best
        start = bisect.bisect_left(self._vocabulary, query_term)
        for term in self._vocabulary[start:]:
            if not term.startswith(query_term):
                break
            if term == query_term:
                continue
            for position, weight in self._postings[term].items():
                # max(w * 0.5) == max(w) * 0.5 exactly: halving is exact in floating point.
                partial = weight * PREFIX_FACTOR
                if best.get(position, 0.0) < partial:
                    best[position] = partial
        return best

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        """Datasets ranked by relevance to ``text``; those matching nothing are left out."""
        query = list(dict.fromkeys(terms(text)))
        if not query:
            return self._datasets[:limit]
        scores: dict[int, float] = {}
        matched: dict[int, int] = {}
        for term in query:
            idf = self._idf.get(term, 1.0)
            for position, weight in self._best_weights(term).items():
                scores[position] = scores.get(position, 0.0) + weight * idf
                matched[position] = matched.get(position, 0) + 1
        ranked = []
        for position, score in scores.items():
            # Datasets matching more of the words rank first.
            coverage = matched[position] / len(query)
            ranked.append((-(score * coverage * coverage * self._penalty[position]), position))
        best = heapq.nsmallest(limit, ranked) if limit else sorted(ranked)
        return [self._datasets[position] for _, position in best]
