"""The inverted search index ranks exactly as the plain scorer it replaced.

``reference_search`` (``support/search_reference.py``, which the sidebar benchmark times
too) is the scoring rule written the direct way (every dataset, every field, every query
word); the index must return the same datasets in the same order for any query, limit
and catalog.
"""

from __future__ import annotations

import random

import pytest
from support.search_reference import reference_search

from meshlab.catalog.contract import Column, Dataset, Server
from meshlab.catalog.search import SearchIndex

WORDS = (
    "play plays played playing track tracks artist listener listeners country countries count coupon "
    "album genre session device revenue payment order customer price campaign click view search "
    "podcast episode stream subscription plan churn region city daily events"
).split()


def random_catalog(size: int, seed: int) -> list[Dataset]:
    rng = random.Random(seed)
    server = Server(name="lake", type="local", format="parquet", path="/data/x.parquet")
    datasets = []
    for i in range(size):
        a, b = rng.sample(WORDS, 2)
        columns = tuple(
            Column(name=f"{rng.choice(WORDS)}_{j}", description=" ".join(rng.sample(WORDS, 3))) for j in range(4)
        )
        domain = f"d{i % 7}"
        datasets.append(
            Dataset(
                domain=domain,
                name=f"{a}_{b}_{i}",
                product=f"p{i}",
                title=f"{a.title()} {b}",
                description=f"Every {a} by {b}, one row per {rng.choice(WORDS)}.",
                owner="ana",
                status=rng.choice(("active", "active", "draft", "deprecated", "retired")),
                tags=tuple(rng.sample(WORDS, 2)),
                columns=columns,
                server=server,
                physical_name=f"t{i}",
                contract_path=f"/m/{domain}/{i}.odcs.yaml",
                address=f"{domain}.{a}_{b}_{i}",
            )
        )
    return sorted(datasets, key=lambda d: d.address)


QUERIES = [
    "plays per country",
    "cou",
    "co",
    "play",
    "listener churn region",
    "zebra",
    "",
    "the of",
    "d3",
    "track artist 12",
    "subscr plan",
    "PLAYED_events",
    "countr coupon",
    "revenue 7 payment",
]


@pytest.mark.parametrize("seed", [1, 2])
def test_index_ranks_as_the_reference_scorer(seed):
    catalog = random_catalog(400, seed)
    index = SearchIndex(catalog)
    for query in QUERIES:
        for limit in (None, 0, 1, 10, 1000):
            expected = [d.address for d in reference_search(catalog, query, limit)]
            assert [d.address for d in index.search(query, limit)] == expected, (query, limit)


def test_random_queries_rank_as_the_reference_scorer():
    catalog = random_catalog(300, 3)
    index = SearchIndex(catalog)
    rng = random.Random(4)
    for _ in range(200):
        words = [rng.choice(WORDS)[: rng.randint(2, 8)] for _ in range(rng.randint(1, 4))]
        query = " ".join(words)
        assert [d.address for d in index.search(query, 20)] == [
            d.address for d in reference_search(catalog, query, 20)
        ], query
