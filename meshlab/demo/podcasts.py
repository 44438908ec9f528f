"""The podcasts domain: the episode catalog (NDJSON) and who streamed what (parquet)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from meshlab.demo.contracts import (
    Contract,
    Field,
    Server,
    Table,
    few_nulls,
    no_duplicates,
    not_null,
    valid_values,
)
from meshlab.demo.sampling import Sampler
from meshlab.demo.sizes import LAST_DAY, DemoSizes
from meshlab.demo.vocabulary import (
    ADJECTIVES,
    COUNTRIES,
    DEVICES,
    NOUNS,
    PODCAST_CATEGORIES,
    SHOW_WORDS,
)

_CATALOG_DAYS = 2 * 365
_SHOW_LANGUAGES = {"en": 60, "es": 12, "pt": 8, "de": 7, "fr": 5, "ja": 3, "hi": 3, "sv": 2}
_GUEST_SHARE = 0.12  # episodes with a musician from the artists catalog as guest
_TEAM = (("priya", "Priya Patel", "owner"), ("kofi", "Kofi Mensah", "analytics engineer"))

EPISODES = Table(
    name="episodes",
    description="One row per published podcast episode, with its show, category and length.",
    fields=(
        Field(
            "episode_id",
            "string",
            "Episode id, e.g. EP000042.",
            "public",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field("show_name", "string", "Name of the podcast show.", "public", required=True),
        Field("episode_number", "integer", "Number of the episode within its show.", "public", required=True),
        Field("title", "string", "Episode title.", "public", required=True),
        Field(
            "category",
            "string",
            "Category of the show.",
            "public",
            required=True,
            quality=(valid_values(list(PODCAST_CATEGORIES), "Known categories."),),
        ),
        Field("language", "string", "ISO 639-1 language spoken in the episode.", "public", required=True),
        Field("published_at", "timestamp", "When the episode went live (UTC).", "public", required=True),
        Field("duration_ms", "integer", "Length of the episode in milliseconds.", "public", required=True),
        Field(
            "explicit", "boolean", "Whether the episode carries an explicit-content warning.", "public", required=True
        ),
        Field(
            "guest_artist_id",
            "integer",
            "Musician featured as guest (artists.artists); null for most episodes.",
            "public",
            references=("artists.artists.artist_id",),
        ),
    ),
)

PODCAST_STREAMS = Table(
    name="podcast_streams",
    description="One row per podcast episode stream: who listened to which episode, when, "
    "how long, where (country) and on which device.",
    fields=(
        Field(
            "stream_id",
            "integer",
            "Stream id, increasing with started_at.",
            "internal",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field(
            "episode_id",
            "string",
            "Episode streamed (podcasts.episodes).",
            "public",
            required=True,
            quality=(not_null(),),
            references=("podcasts.episodes.episode_id",),
        ),
        Field(
            "user_id",
            "integer",
            "Listener (listeners.profiles).",
            "restricted",
            required=True,
            quality=(not_null(),),
            references=("listeners.profiles.user_id",),
        ),
        Field("started_at", "timestamp", "When the stream started (UTC).", "internal", required=True),
        Field("ms_played", "integer", "Milliseconds listened.", "internal", required=True),
        Field("completed", "boolean", "Whether the episode was listened to the end.", "internal", required=True),
        Field("device", "string", "Device type.", "internal", required=True),
        Field(
            "country",
            "string",
            "ISO 3166-1 alpha-2 country of the stream; null when unknown.",
            "internal",
            quality=(few_nulls(2),),
        ),
    ),
)

EPISODES_CONTRACT = Contract(
    domain="podcasts",
    file_stem="episodes",
    title="Podcast episodes",
    version="3.0.1",
    data_product="podcast-catalog",
    purpose="The catalog of podcast episodes published on the platform.",
    usage="Join podcast_streams on episode_id; guest_artist_id joins artists.artists.",
    limitations="Covers the last two years of episodes only. Titles are as published.",
    tags=("podcasts", "episodes", "catalog"),
    team=_TEAM,
    server=Server("podcast-files", "local", "../../data/podcasts/episodes.ndjson", "json"),
    tables=(EPISODES,),
    latency=(90, "d", "episodes.published_at"),
)

PODCAST_STREAMS_CONTRACT = Contract(
    domain="podcasts",
    file_stem="podcast_streams",
    title="Podcast streams",
    version="0.3.0",
    status="draft",
    data_product="podcast-listening",
    purpose="Every podcast episode stream, for podcast charts and listener engagement.",
    usage="Join on episode_id with podcasts.episodes and on user_id with listeners.profiles.",
    limitations="Draft: columns may still change. Streams of the last hours are missing.",
    tags=("podcasts", "streams", "listening", "events"),
    team=_TEAM,
    server=Server("podcast-lake", "local", "../../data/podcasts/podcast_streams.parquet", "parquet"),
    tables=(PODCAST_STREAMS,),
    latency=(2, "d", "podcast_streams.started_at"),
)


def episodes(sampler: Sampler, sizes: DemoSizes, artists: pl.DataFrame) -> pl.DataFrame:
    """Generate the episodes of ``sizes.shows`` shows.

    Parameters
    ----------
    sampler
        The run's random streams.
    sizes
        Dataset sizes.
    artists
        The artists catalog, for guest appearances.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`EPISODES`, in publication order.
    """
    s, k, n = sampler, sizes.shows, sizes.episodes
    shows = pl.DataFrame(
        {
            "show_name": pl.select(
                pl.format(
                    "{} {}",
                    pl.lit(s.choice("shows/word", k, list(SHOW_WORDS))),
                    pl.lit(s.choice("shows/noun", k, list(NOUNS))),
                )
            ).to_series(),
            "category": s.choice("shows/category", k, list(PODCAST_CATEGORIES), list(PODCAST_CATEGORIES.values())),
            "language": s.choice("shows/language", k, list(_SHOW_LANGUAGES), list(_SHOW_LANGUAGES.values())),
            "explicit_share": s.uniform("shows/explicit", k) * 0.5,
            "minutes": 15 + s.uniform("shows/minutes", k) * 75,
        }
    ).with_row_index("show", offset=0)
    end = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time())
    guest = artists["artist_id"].gather(s.integers("episodes/guest", n, 0, artists.height))
    frame = pl.DataFrame(
        {
            "show": s.zipf("episodes/show", n, k, 0.7).cast(pl.UInt32),
            "age_s": s.integers("episodes/age", n, 0, _CATALOG_DAYS * 86_400),
            "adj": s.choice("episodes/adj", n, list(ADJECTIVES)),
            "noun": s.choice("episodes/noun", n, list(NOUNS)),
            "length": s.normal("episodes/length", n, 1.0, 0.25).clip(0.3, 2.5),
            "explicit_draw": s.uniform("episodes/explicit", n),
            "guest": pl.select(
                pl.when(s.bernoulli("episodes/has_guest", n, _GUEST_SHARE)).then(pl.lit(guest))
            ).to_series(),
        }
    ).join(shows, on="show", how="left", maintain_order="left")
    published = pl.lit(end) - pl.duration(seconds=pl.col("age_s") + 1)
    return (
        frame.with_columns(published_at=published.dt.truncate("1s"))
        .sort("published_at", "show", maintain_order=True)
        .select(
            episode_id=pl.format("EP{}", (pl.int_range(1, pl.len() + 1)).cast(pl.String).str.zfill(6)),
            show_name="show_name",
            episode_number=pl.int_range(1, pl.len() + 1).over("show"),
            title=pl.format("{}: {} {}", "show_name", "adj", "noun"),
            category="category",
            language="language",
            published_at="published_at",
            duration_ms=(pl.col("minutes") * pl.col("length") * 60_000).round().cast(pl.Int64),
            explicit=pl.col("explicit_draw") < pl.col("explicit_share"),
            guest_artist_id="guest",
        )
    )


def podcast_streams(sampler: Sampler, sizes: DemoSizes, profiles: pl.DataFrame, episodes: pl.DataFrame) -> pl.DataFrame:
    """Generate podcast streams over the listening-history days.

    Parameters
    ----------
    sampler
        The run's random streams.
    sizes
        Dataset sizes; ``sizes.podcast_streams`` rows are made.
    profiles, episodes
        The listeners and episodes the streams refer to.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`PODCAST_STREAMS`, in order of ``started_at``.
    """
    s, n = sampler, sizes.podcast_streams
    first = dt.datetime.combine(sizes.first_day, dt.time())
    end = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time())
    # New episodes get most streams: popularity follows recency, plus noise.
    fresh = s.zipf("streams/episode", n, episodes.height, 1.1, 3.0)
    episode = episodes.height - 1 - fresh
    listener = s.weighted("streams/listener", n, s.normal("streams/activity", profiles.height, 0.0, 1.5).exp())
    home = profiles["country"].gather(listener)
    ep = episodes.select("episode_id", "published_at", "duration_ms").gather(episode)
    frame = ep.with_columns(
        user_id=profiles["user_id"].gather(listener),
        u_start=s.uniform("streams/start", n),
        u_played=s.uniform("streams/played", n),
        completed=s.bernoulli("streams/completed", n, 0.35),
        device=s.choice("streams/device", n, list(DEVICES), list(DEVICES.values())),
        country=pl.select(
            pl.when(pl.lit(home).is_null())
            .then(pl.lit(s.choice("streams/country", n, list(COUNTRIES), list(COUNTRIES.values()))))
            .otherwise(pl.lit(home))
        ).to_series(),
        unknown=s.exactly("streams/unknown", n, 0.005),
    )
    # A stream starts after the episode is published, within the history days.
    open_from = pl.max_horizontal(pl.col("published_at"), pl.lit(first))
    window_s = (pl.lit(end) - open_from).dt.total_seconds()
    started = open_from + pl.duration(seconds=(pl.col("u_start") * window_s).floor())
    played = (
        pl.when("completed")
        .then("duration_ms")
        .otherwise((pl.col("u_played") * pl.col("duration_ms")).floor().cast(pl.Int64))
    )
    return (
        frame.with_columns(started_at=started)
        .sort("started_at", maintain_order=True)
        .select(
            stream_id=pl.int_range(1, pl.len() + 1),
            episode_id="episode_id",
            user_id="user_id",
            started_at="started_at",
            ms_played=played,
            completed="completed",
            device="device",
            country=pl.when(~pl.col("unknown")).then("country"),
        )
    )
