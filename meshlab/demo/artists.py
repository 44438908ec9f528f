"""The artists domain: the artist and track catalog (CSV files)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from meshlab.demo.contracts import (
    Contract,
    Field,
    Server,
    Table,
    few_nulls,
    matches,
    no_duplicates,
    not_null,
    valid_values,
)
from meshlab.demo.sampling import Sampler
from meshlab.demo.sizes import LAST_DAY, DemoSizes
from meshlab.demo.vocabulary import ADJECTIVES, COUNTRIES, FIRST_NAMES, GENRES, LAST_NAMES, NOUNS

FIRST_ARTIST_ID = 1
FIRST_TRACK_ID = 100_001
_TEAM = (("mateo", "Mateo Rossi", "owner"), ("aiko", "Aiko Tanaka", "data steward"))
_RELEASE_SPAN_DAYS = 50 * 365
_EDIT_SPAN_DAYS = 2 * 365
_CLOSE = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time())
_GENRE_RULE = valid_values(list(GENRES), "Genres come from the editorial genre list.")
# Country, registrant, year of reference, designation: "QZMLA2600042".
ISRC_PATTERN = "^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$"
# The demo's deliberate quality incident: one label's bulk upload kept the printed
# form of its ISRCs ("QZ-MLA-26-00042"); at least one track, about 0.2 % of them.
_PRINTED_ISRC_SHARE = 0.002

ARTISTS = Table(
    name="artists",
    description="One row per artist (solo act or band) in the catalog.",
    fields=(
        Field(
            "artist_id",
            "integer",
            "Artist id.",
            "public",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field("name", "string", "Artist or band name as credited.", "public", required=True, quality=(not_null(),)),
        Field("country", "string", "ISO 3166-1 alpha-2 country the artist comes from.", "public", required=True),
        Field("genre", "string", "Main genre of the artist.", "public", required=True, quality=(_GENRE_RULE,)),
        Field("formed_year", "integer", "Year the act started; null when unknown.", "public", quality=(few_nulls(10),)),
        Field("is_verified", "boolean", "Whether the artist has claimed their profile.", "internal", required=True),
        Field("updated_at", "timestamp", "Last edit of the artist's catalog entry (UTC).", "internal", required=True),
    ),
)

TRACKS = Table(
    name="tracks",
    description="One row per track (song) in the catalog, with its artist and audio facts.",
    fields=(
        Field(
            "track_id",
            "integer",
            "Track id, the key play_events and charts join on.",
            "public",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field(
            "artist_id",
            "integer",
            "Main artist (artists.artists.artist_id).",
            "public",
            required=True,
            quality=(not_null(),),
            references=("artists.artists.artist_id",),
        ),
        Field("title", "string", "Track title.", "public", required=True),
        Field("genre", "string", "Genre of the track.", "public", required=True, quality=(_GENRE_RULE,)),
        Field("duration_ms", "integer", "Length of the track in milliseconds.", "public", required=True),
        Field("release_date", "date", "Day the track was released.", "public", required=True),
        Field("explicit", "boolean", "Whether the lyrics carry an explicit-content warning.", "public", required=True),
        Field(
            "isrc",
            "string",
            "International Standard Recording Code: 12 characters, no hyphens.",
            "public",
            required=True,
            unique=True,
            quality=(no_duplicates(), matches(ISRC_PATTERN, "ISRCs are stored in their 12-character form.")),
        ),
        Field(
            "tempo_bpm",
            "number",
            "Tempo in beats per minute; null until audio analysis ran.",
            "public",
            quality=(few_nulls(10),),
        ),
    ),
)

_COMMON: dict[str, Any] = dict(
    domain="artists",
    version="1.7.0",
    data_product="music-catalog",
    usage="Join tracks to play_events or daily_track_plays on track_id, and to artists on "
    "artist_id, to report plays per artist, genre or artist country.",
    team=_TEAM,
    latency=(1, "d", "tracks.release_date"),
)

ARTISTS_CONTRACT = Contract(
    file_stem="artists",
    title="Artists",
    purpose="Every artist in the music catalog, as maintained by the editorial team.",
    limitations="Formed years are editorial research and sometimes missing.",
    tags=("music", "catalog", "artists"),
    server=Server("catalog-files", "local", "../../data/artists/artists.csv", "csv"),
    tables=(ARTISTS,),
    latency=(90, "d", "artists.updated_at"),
    **{k: v for k, v in _COMMON.items() if k != "latency"},
)

TRACKS_CONTRACT = Contract(
    file_stem="tracks",
    title="Tracks",
    purpose="Every track in the music catalog, with artist, genre and audio facts.",
    limitations="Only the main artist is listed; features and credits are not. Tempo is "
    "null for tracks not analysed yet.",
    tags=("music", "catalog", "tracks", "songs"),
    server=Server("catalog-files", "local", "../../data/artists/tracks.csv", "csv"),
    tables=(TRACKS,),
    **_COMMON,
)


def _words(sampler: Sampler, name: str, n: int, words: tuple[str, ...]) -> pl.Series:
    return sampler.choice(name, n, list(words))


def artists(sampler: Sampler, sizes: DemoSizes) -> pl.DataFrame:
    """Generate the artists.

    Parameters
    ----------
    sampler
        The run's random streams.
    sizes
        Dataset sizes; ``sizes.artists`` rows are made.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`ARTISTS`.
    """
    n, s = sizes.artists, sampler
    frame = pl.DataFrame(
        {
            "adj": _words(s, "artists/adj", n, ADJECTIVES),
            "noun": _words(s, "artists/noun", n, NOUNS),
            "first": _words(s, "artists/first", n, FIRST_NAMES),
            "last": _words(s, "artists/last", n, LAST_NAMES),
            "style": s.uniform("artists/style", n),
        }
    )
    name = (
        pl.when(pl.col("style") < 0.35)
        .then(pl.format("The {} {}s", "adj", "noun"))
        .when(pl.col("style") < 0.7)
        .then(pl.format("{} {}", "first", "last"))
        .otherwise(pl.format("{} {}", "adj", "noun"))
    )
    # Squaring the draw makes recent debuts more common than old ones.
    formed = 2025 - (s.uniform("artists/formed", n).pow(2.0) * 60).floor().cast(pl.Int64)
    return frame.select(
        artist_id=pl.int_range(FIRST_ARTIST_ID, FIRST_ARTIST_ID + n),
        name=name,
        country=s.choice("artists/country", n, list(COUNTRIES), list(COUNTRIES.values())),
        genre=s.choice("artists/genre", n, list(GENRES), list(GENRES.values())),
        formed_year=pl.when(~s.exactly("artists/no_formed", n, 0.06)).then(formed),
        is_verified=s.bernoulli("artists/verified", n, 0.6),
        updated_at=pl.lit(_CLOSE)
        - pl.duration(seconds=pl.lit(1 + s.integers("artists/updated", n, 0, _EDIT_SPAN_DAYS * 86_400))),
    )


def tracks(sampler: Sampler, artists: pl.DataFrame, n: int) -> pl.DataFrame:
    """Generate ``n`` tracks of the given artists.

    Every artist gets at least one track; the rest go to artists by a Zipf law,
    so a few artists have large catalogs.

    Parameters
    ----------
    sampler
        The run's random streams.
    artists
        The frame made by :func:`artists`.
    n
        Number of tracks.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`TRACKS`.
    """
    s = sampler
    # Durations are log-normal around 3.5 minutes; releases lean recent.
    frame = pl.DataFrame(
        {
            "seq": pl.int_range(n, eager=True),
            "owner": _track_owners(s, artists.height, n),
            "adj": _words(s, "tracks/adj", n, ADJECTIVES),
            "noun": _words(s, "tracks/noun", n, NOUNS),
            "style": s.uniform("tracks/title_style", n),
            "duration": s.normal("tracks/duration", n, 12.25, 0.3).exp().clip(30_000, 900_000),
            "age": (s.uniform("tracks/age", n).pow(2.5) * _RELEASE_SPAN_DAYS).floor(),
            "tempo": s.normal("tracks/tempo", n, 118.0, 24.0).clip(60, 200).round(1),
            "no_tempo": s.exactly("tracks/no_tempo", n, 0.04),
            "own_genre": s.bernoulli("tracks/own_genre", n, 0.9),
            "other_genre": s.choice("tracks/genre", n, list(GENRES), list(GENRES.values())),
            "explicit_draw": s.uniform("tracks/explicit", n),
        }
    )
    genre = pl.when("own_genre").then(pl.lit(artists["genre"]).gather(pl.col("owner"))).otherwise("other_genre")
    explicit_share = pl.when(genre.is_in(["hip-hop", "reggaeton", "metal"])).then(0.45).otherwise(0.08)
    release_date = pl.lit(LAST_DAY) - pl.duration(days=pl.col("age"))
    return frame.select(
        track_id=pl.col("seq") + FIRST_TRACK_ID,
        artist_id=pl.lit(artists["artist_id"]).gather(pl.col("owner")),
        title=_TITLE,
        genre=genre,
        duration_ms=pl.col("duration").round().cast(pl.Int64),
        release_date=release_date,
        explicit=pl.col("explicit_draw") < explicit_share,
        isrc=_printed(_isrc(pl.col("seq"), release_date), s.permutation("tracks/printed_isrc", n), n),
        tempo_bpm=pl.when(~pl.col("no_tempo")).then(pl.col("tempo")),
    )


_TITLE = (
    pl.when(pl.col("style") < 0.45)
    .then(pl.format("{} {}", "adj", "noun"))
    .when(pl.col("style") < 0.7)
    .then(pl.col("noun"))
    .when(pl.col("style") < 0.85)
    .then(pl.format("{} {} (Remix)", "adj", "noun"))
    .otherwise(pl.format("{} of the {}", "noun", "adj"))
)


def _track_owners(sampler: Sampler, artists: int, n: int) -> pl.Series:
    """Row of each track's artist: one track per artist first, then Zipf-prolific artists."""
    once = pl.int_range(min(artists, n), eager=True, dtype=pl.Int64)
    prolific = sampler.permutation("tracks/prolific", artists)
    more = prolific.gather(sampler.zipf("tracks/artist", n - len(once), artists, 0.8))
    # Shuffle so that track ids do not run through the artists in order.
    return pl.concat([once, more]).gather(sampler.permutation("tracks/owner_order", n))


def _printed(isrc: pl.Expr, order: pl.Series, n: int) -> pl.Expr:
    """The ISRCs of a few tracks in their printed, hyphenated form (the injected fault)."""
    printed = pl.concat_str(
        [isrc.str.slice(0, 2), isrc.str.slice(2, 3), isrc.str.slice(5, 2), isrc.str.slice(7)], separator="-"
    )
    return pl.when(pl.lit(order) < max(1, round(_PRINTED_ISRC_SHARE * n))).then(printed).otherwise(isrc)


def _isrc(seq: pl.Expr, release_date: pl.Expr) -> pl.Expr:
    """ISRC: country QZ, registrant ML + a letter, two-digit year, five-digit number."""
    letter = pl.lit("ABCDEFGHIJKLMNOPQRSTUVWXYZ").str.slice(seq // 100_000 % 26, 1)
    year = release_date.dt.year().mod(100).cast(pl.String).str.zfill(2)
    return pl.format("QZML{}{}{}", letter, year, (seq % 100_000).cast(pl.String).str.zfill(5))
