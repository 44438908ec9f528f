"""How big each demo dataset is at a given scale, and the calendar it covers."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from meshlab.errors import MeshError

# A fixed last day rather than today, so a seed always gives the same files.
LAST_DAY = dt.date(2026, 10, 31)
# The instant the demo's snapshot was taken (the end of LAST_DAY): its mesh.yaml
# has checks judge freshness as of this instant, so they give the same answer any day.
SNAPSHOT = f"{LAST_DAY + dt.timedelta(days=1)}T00:00:00Z"
# The service launched here: no listener signed up earlier.
SERVICE_LAUNCH = dt.date(2015, 1, 1)

# Rows at scale 1, and the floor that keeps tiny scales joinable and non-empty.
_FULL = {
    "play_events": 10_000_000,
    "listeners": 200_000,
    "tracks": 50_000,
    "artists": 8_000,
    "shows": 120,
    "episodes": 2_000,
    "podcast_streams": 1_000_000,
}
_FLOOR = {
    "play_events": 500,
    "listeners": 50,
    "tracks": 100,
    "artists": 20,
    "shows": 4,
    "episodes": 20,
    "podcast_streams": 200,
}
_MAX_DAYS = 31  # the whole of October 2026
_MIN_EVENTS_PER_DAY = 300


@dataclass(frozen=True)
class DemoSizes:
    """Row counts (targets) and the number of days of listening history."""

    play_events: int
    listeners: int
    tracks: int
    artists: int
    shows: int
    episodes: int
    podcast_streams: int
    days: int

    @property
    def first_day(self) -> dt.date:
        """The first day of listening history."""
        return LAST_DAY - dt.timedelta(days=self.days - 1)


def sizes_for(scale: float) -> DemoSizes:
    """Return the dataset sizes for ``scale`` (1.0 is about 10 million plays).

    Parameters
    ----------
    scale
        Linear size factor; must be positive.

    Raises
    ------
    MeshError
        When ``scale`` is not a positive finite number.

    Returns
    -------
    DemoSizes
        Sizes scaled linearly, never below a floor that keeps every foreign
        key joinable; tiny scales also get fewer days so a day is not empty.
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise MeshError(f"demo scale must be a positive number, got {scale!r}")
    counts = {k: max(_FLOOR[k], round(v * scale)) for k, v in _FULL.items()}
    days = max(1, min(_MAX_DAYS, counts["play_events"] // _MIN_EVENTS_PER_DAY))
    return DemoSizes(days=days, **counts)
