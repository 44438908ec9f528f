"""Seeded, vectorised random columns for the demo generator.

Every column draws from its own named stream, derived from the run's seed and
the stream's name, so adding or reordering columns never shifts the values of
the others: the data files stay byte-identical for a given seed and scale.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow.compute as pc


@dataclass(frozen=True)
class Sampler:
    """Random columns drawn from named streams of one seed.

    numpy is not a dependency of meshlab, so the uniform draws come from
    Arrow's seeded PCG generator (``pyarrow.compute.random``) and every other
    distribution is shaped from them with Polars expressions.

    Parameters
    ----------
    seed
        The run's seed; equal seeds give equal columns.
    """

    seed: int

    def stream_seed(self, name: str) -> int:
        """Return the 63-bit seed of the stream called ``name``."""
        digest = hashlib.blake2b(f"{self.seed}/{name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 1

    def uniform(self, name: str, n: int) -> pl.Series:
        """Return ``n`` floats uniform on [0, 1) from stream ``name``."""
        values = pc.random(n, initializer=self.stream_seed(name))
        return pl.Series(name, values, dtype=pl.Float64)

    def integers(self, name: str, n: int, low: int, high: int) -> pl.Series:
        """Return ``n`` integers uniform on [low, high)."""
        width = high - low
        return (self.uniform(name, n) * width).floor().cast(pl.Int64).clip(0, width - 1) + low

    def bernoulli(self, name: str, n: int, p: float) -> pl.Series:
        """Return ``n`` booleans that are true with probability ``p``."""
        return self.uniform(name, n) < p

    def exactly(self, name: str, n: int, share: float) -> pl.Series:
        """Return ``n`` booleans of which exactly ``round(share * n)`` are true.

        Used for injected nulls: a Bernoulli draw could exceed the contract's
        null-rate rule by chance on a tiny demo, an exact count never does.
        """
        return (self.permutation(name, n) < round(share * n)).alias(name)

    def normal(self, name: str, n: int, mean: float = 0.0, sd: float = 1.0) -> pl.Series:
        """Return ``n`` normal draws (Box-Muller over two uniform streams)."""
        u1 = 1.0 - self.uniform(f"{name}/u1", n)  # (0, 1]: log stays finite
        u2 = self.uniform(f"{name}/u2", n)
        z = (-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()
        return z * sd + mean

    def geometric(self, name: str, n: int, mean: float) -> pl.Series:
        """Return ``n`` integers >= 1 from a geometric law of the given mean."""
        p = 1.0 / mean
        u = 1.0 - self.uniform(name, n)
        return ((u.log() / math.log(1.0 - p)).floor() + 1).cast(pl.Int64)

    def weighted(self, name: str, n: int, weights: pl.Series | Sequence[float]) -> pl.Series:
        """Return ``n`` indices into ``weights``, each drawn with its weight.

        Inverse-CDF sampling: a binary search of each uniform draw in the
        cumulative weights, which stays vectorised for millions of draws.
        """
        weights = pl.Series("w", weights, dtype=pl.Float64)
        cumulative = weights.cum_sum() / weights.sum()
        idx = cumulative.search_sorted(self.uniform(name, n), side="right")
        # Float rounding can leave the last cumulative weight a hair below 1.
        return idx.cast(pl.Int64).clip(0, len(weights) - 1).alias(name)

    def choice(self, name: str, n: int, values: Sequence, weights: Sequence[float] | None = None) -> pl.Series:
        """Return ``n`` values picked from ``values`` (uniformly, or by ``weights``)."""
        if weights is None:
            idx = self.integers(name, n, 0, len(values))
        else:
            idx = self.weighted(name, n, weights)
        return pl.Series(name, values).gather(idx)

    def zipf(self, name: str, n: int, items: int, exponent: float = 1.0, flatten: float = 0.0) -> pl.Series:
        """Return ``n`` popularity ranks in [0, items), rank 0 the most popular.

        Rank r has weight ``1 / (r + 1 + flatten) ** exponent`` (Zipf-Mandelbrot):
        ``flatten`` > 0 tames the head so the top item does not take a tenth of
        all draws, as a pure Zipf law over a large catalog would.
        """
        ranks = pl.int_range(1, items + 1, eager=True).cast(pl.Float64) + flatten
        return self.weighted(name, n, ranks.pow(-exponent))

    def permutation(self, name: str, n: int) -> pl.Series:
        """Return a random permutation of 0..n-1."""
        return self.uniform(name, n).arg_sort().cast(pl.Int64).alias(name)
