"""The listeners domain: listener profiles and their subscription history (SQLite)."""

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
from meshlab.demo.sizes import LAST_DAY, SERVICE_LAUNCH, DemoSizes
from meshlab.demo.vocabulary import COUNTRIES, FIRST_NAMES, LANGUAGES, LAST_NAMES, PLANS

FIRST_USER_ID = 1_000_001
# Price rises: premium cost 9.99 until mid-2023 and 10.99 until mid-2025.
PRICE_ERAS = ((dt.datetime(2023, 7, 1), 2.0), (dt.datetime(2025, 7, 1), 1.0))
_ASCII = {"é": "e", "ü": "u", "á": "a", "í": "i", "ó": "o", "ñ": "n", "'": "", "ç": "c"}
_END = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time())

PROFILES = Table(
    name="profiles",
    description="One row per listener account: who they are and where they signed up.",
    fields=(
        Field(
            "user_id",
            "integer",
            "Listener id, the key every listening dataset joins on.",
            "restricted",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field(
            "display_name",
            "string",
            "Name shown in the app (first name and initial).",
            "pii",
            required=True,
            quality=(not_null(),),
        ),
        Field(
            "email",
            "string",
            "Login e-mail address.",
            "pii",
            required=True,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field("birth_year", "integer", "Year of birth as declared at signup; null when not given.", "pii"),
        Field(
            "country",
            "string",
            "ISO 3166-1 alpha-2 country of the account; null when unknown.",
            "internal",
            quality=(few_nulls(2),),
        ),
        Field("preferred_language", "string", "ISO 639-1 language of the app's interface.", "internal", required=True),
        Field(
            "signup_date",
            "date",
            "Day the account was created (UTC).",
            "internal",
            required=True,
            quality=(not_null(),),
        ),
        Field(
            "marketing_opt_in", "boolean", "Whether the listener accepts marketing e-mail.", "internal", required=True
        ),
    ),
)

SUBSCRIPTIONS = Table(
    name="subscriptions",
    description="Subscription history: one row per plan period of a listener; "
    "the open period (ended_at null) is the current plan.",
    fields=(
        Field(
            "subscription_id",
            "integer",
            "Subscription period id.",
            "internal",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field(
            "user_id",
            "integer",
            "Listener id (listeners.profiles.user_id).",
            "restricted",
            required=True,
            quality=(not_null(),),
            references=("profiles.user_id",),
        ),
        Field(
            "plan",
            "string",
            "Plan: free, premium, family or student.",
            "internal",
            required=True,
            quality=(valid_values(list(PLANS), "Only the four plans exist."),),
        ),
        Field("started_at", "timestamp", "Start of the period (UTC).", "internal", required=True),
        Field("ended_at", "timestamp", "End of the period (UTC); null while it is current.", "internal"),
        Field("monthly_price", "number", "Monthly price in EUR at the start of the period.", "internal", required=True),
    ),
)

CONTRACT = Contract(
    domain="listeners",
    file_stem="listeners",
    title="Listener accounts",
    version="2.3.0",
    data_product="listener-accounts",
    purpose="Who our listeners are (profiles) and what they pay for (subscriptions).",
    usage="Join play_events, podcast_streams and subscriptions on user_id. Aggregate by "
    "country or plan; never export display_name, email or birth_year.",
    limitations="Country and birth year are self-declared and sometimes missing. Prices are "
    "list prices in EUR, before taxes and discounts.",
    tags=("listeners", "users", "profiles", "subscriptions", "pii"),
    team=(("li.wei", "Li Wei", "owner"), ("sam.okafor", "Sam Okafor", "data engineer")),
    server=Server(
        "accounts-db",
        "sqlite",
        "../../data/listeners/listeners.sqlite",
        description="Nightly replica of the accounts service database.",
    ),
    tables=(PROFILES, SUBSCRIPTIONS),
    latency=(14, "d", "profiles.signup_date"),
)


def _ascii(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_many(list(_ASCII), list(_ASCII.values()))


def profiles(sampler: Sampler, sizes: DemoSizes) -> pl.DataFrame:
    """Generate the listener profiles.

    Parameters
    ----------
    sampler
        The run's random streams.
    sizes
        Dataset sizes; ``sizes.listeners`` rows are made.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`PROFILES`, one row per listener.
    """
    n = sizes.listeners
    s = sampler
    first = s.choice("profiles/first", n, FIRST_NAMES)
    last = s.choice("profiles/last", n, LAST_NAMES)
    country = s.choice("profiles/country", n, list(COUNTRIES), list(COUNTRIES.values()))
    launch_span = (LAST_DAY - SERVICE_LAUNCH).days
    frame = pl.DataFrame(
        {
            "i": pl.int_range(n, eager=True),
            "first": first,
            "last": last,
            "country": country,
            "domain": s.choice("profiles/domain", n, ["example.com", "example.org", "example.net"]),
            "birth_year": s.normal("profiles/birth", n, 1994.0, 11.0).round().clip(1940, 2011),
            # u**0.6 pushes signups towards recent years: the service keeps growing.
            "signup_offset": (s.uniform("profiles/signup", n).pow(0.6) * launch_span).floor(),
            "no_birth": s.exactly("profiles/no_birth", n, 0.08),
            "no_country": s.exactly("profiles/no_country", n, 0.01),
            "english": s.bernoulli("profiles/english", n, 0.12),
            "opt_in": s.bernoulli("profiles/opt_in", n, 0.35),
        }
    )
    return frame.select(
        user_id=pl.col("i") + FIRST_USER_ID,
        display_name=pl.col("first") + " " + pl.col("last").str.slice(0, 1) + ".",
        email=pl.concat_str(
            _ascii(pl.col("first")),
            pl.lit("."),
            _ascii(pl.col("last")),
            pl.col("i").cast(pl.String),
            pl.lit("@"),
            pl.col("domain"),
        ),
        birth_year=pl.when(~pl.col("no_birth")).then(pl.col("birth_year")),
        country=pl.when(~pl.col("no_country")).then(pl.col("country")),
        preferred_language=pl.when(pl.col("english"))
        .then(pl.lit("en"))
        .otherwise(pl.col("country").replace_strict(LANGUAGES)),
        signup_date=pl.lit(SERVICE_LAUNCH) + pl.duration(days=pl.col("signup_offset")),
        marketing_opt_in=pl.col("opt_in"),
    )


def subscriptions(sampler: Sampler, profiles: pl.DataFrame) -> pl.DataFrame:
    """Generate each listener's plan history, back to back from signup.

    Parameters
    ----------
    sampler
        The run's random streams.
    profiles
        The frame made by :func:`profiles`.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`SUBSCRIPTIONS`; one to three periods per listener.
    """
    s = sampler
    n = profiles.height
    periods = 1 + s.bernoulli("subs/second", n, 0.30).cast(pl.Int64) + s.bernoulli("subs/third", n, 0.08).cast(pl.Int64)
    owners = profiles.select(
        "user_id",
        start=pl.col("signup_date").cast(pl.Datetime("us"))
        + pl.duration(seconds=pl.lit(s.integers("subs/signup_time", n, 0, 86_400))),
        periods=periods,
        churned=s.bernoulli("subs/churned", n, 0.12),
    )
    rows = owners.select(pl.all().repeat_by("periods").explode())
    m = rows.height
    plans = list(PLANS)
    rows = rows.with_columns(
        weight=0.2 + s.uniform("subs/length", m),
        plan=s.choice("subs/plan", m, plans, [w for w, _ in PLANS.values()]),
        last=pl.int_range(pl.len()).over("user_id") == pl.col("periods") - 1,
    )
    # A churned listener's last period ends before today: leave a gap after it.
    gap = pl.when(pl.col("churned")).then(0.5).otherwise(0.0)
    total = pl.col("weight").sum().over("user_id") + gap.first().over("user_id")
    span = (pl.lit(_END) - pl.col("start")).dt.total_seconds()
    upto = pl.col("weight").cum_sum().over("user_id")

    def at(share: pl.Expr) -> pl.Expr:
        return pl.col("start") + pl.duration(seconds=(span * share).floor())

    rows = rows.with_columns(
        started_at=at((upto - pl.col("weight")) / total),
        ended_at=pl.when(~pl.col("last") | pl.col("churned")).then(at(upto / total)),
    )
    list_price = pl.col("plan").replace_strict({k: p for k, (_, p) in PLANS.items()})
    (era1, cut1), (era2, cut2) = PRICE_ERAS
    discount = (
        pl.when(pl.col("started_at") < era1).then(cut1).when(pl.col("started_at") < era2).then(cut2).otherwise(0.0)
    )
    price = pl.when(list_price > 0).then(list_price - discount).otherwise(list_price)
    return rows.select(
        subscription_id=pl.int_range(1, m + 1),
        user_id="user_id",
        plan="plan",
        started_at="started_at",
        ended_at="ended_at",
        monthly_price=price.round(2),
    )
