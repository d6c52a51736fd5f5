"""Properties of the trending score and of rank()."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperwire.trending import DEFAULT, WINDOWS, TrendingInput, TrendingParams, rank, trending_score

FAST = settings(max_examples=150, deadline=None)
counts = st.integers(min_value=0, max_value=10**7)
ages = st.floats(min_value=0.0, max_value=24 * 365.0, allow_nan=False)  # up to one year
params = st.sampled_from([DEFAULT, *WINDOWS.values(), TrendingParams(w_stars=2.0, base=0.0)])
NOW = datetime(2026, 6, 8, tzinfo=UTC)


@FAST
@given(u=counts, s=counts, age=ages, p=params)
def test_more_votes_rank_higher_at_equal_age_and_stars(u, s, age, p):
    assert trending_score(u + 1, s, age, params=p) > trending_score(u, s, age, params=p)


@FAST
@given(u=counts, s=counts, age=ages, p=params)
def test_monotone_in_stars_gained(u, s, age, p):
    assert trending_score(u, s + 1, age, params=p) > trending_score(u, s, age, params=p)


@FAST
@given(u=counts, s=counts, age=ages, dt=st.floats(min_value=1 / 60, max_value=24 * 30.0))
def test_score_strictly_decreases_with_age(u, s, age, dt):
    # with the default base > 0 this holds for every count, zero included
    assert trending_score(u, s, age + dt) < trending_score(u, s, age)


@FAST
@given(u=counts, s=counts, age=ages)
def test_half_life_halves_the_score(u, s, age):
    now = trending_score(u, s, age)
    later = trending_score(u, s, age + DEFAULT.half_life_hours)
    assert later == pytest.approx(now / 2, rel=1e-9)


@FAST
@given(old_upvotes=st.integers(0, 250), new_upvotes=st.integers(0, 250), old_gained=st.integers(0, 10), p=params)
def test_recent_star_burst_beats_old_paper_with_small_gain(old_upvotes, new_upvotes, old_gained, p):
    """A 1-day-old paper whose repo gained 300 stars outranks a 30-day-old paper whose repo gained
    at most 10 in the window, however many stars it has in total (the function only sees stars
    gained), when the new paper has at least as many upvotes (up to 250, the HF daily maximum)."""
    if new_upvotes < old_upvotes:
        new_upvotes = old_upvotes
    new = trending_score(new_upvotes, 300, 24.0, params=p)
    old = trending_score(old_upvotes, old_gained, 30 * 24.0, params=p)
    assert new > old


def test_recent_star_burst_beats_old_popular_paper_with_defaults():
    # stronger, concrete case: the old paper even has the maximum upvotes, the new one none
    assert trending_score(0, 300, 24.0) > trending_score(250, 10, 30 * 24.0)
    # ...while total stars would have said the opposite: 80k stars at 30 days vs 300 at 1 day
    assert trending_score(0, 300, 24.0) < trending_score(250, 80_000, 24.0)


@pytest.mark.parametrize("p", [DEFAULT, *WINDOWS.values(), TrendingParams(base=0.0)])
@pytest.mark.parametrize("age", [0.0, 1.0, 24.0 * 365])
def test_zero_inputs_finite_and_non_negative(p, age):
    s = trending_score(0, 0, age, params=p)
    assert math.isfinite(s) and s >= 0.0
    assert s == pytest.approx(p.base * 2 ** (-age / p.half_life_hours))


@FAST
@given(u=counts, s=counts, age=st.floats(min_value=-1e6, max_value=24 * 365.0, allow_nan=False), p=params)
def test_always_finite_and_non_negative(u, s, age, p):
    v = trending_score(u, s, age, params=p)
    assert math.isfinite(v) and v >= 0.0


def test_negative_age_counts_as_zero():
    assert trending_score(5, 5, -3.0) == trending_score(5, 5, 0.0)


@pytest.mark.parametrize("name", ["upvotes", "stars_gained"])
def test_negative_counts_are_rejected_by_name(name):
    args = dict(upvotes=1, stars_gained=1, age_hours=1.0) | {name: -1}
    with pytest.raises(ValueError, match=f"{name} must be >= 0"):
        trending_score(**args)


@pytest.mark.parametrize(
    "bad",
    [
        dict(upvotes=-1),
        dict(stars_gained=-1),
        dict(age_hours=math.nan),
        dict(age_hours=math.inf),
        dict(upvotes=1.5),
        dict(upvotes=True),
    ],
)
def test_bad_inputs_are_rejected(bad):
    args = dict(upvotes=1, stars_gained=1, age_hours=1.0) | bad
    with pytest.raises((ValueError, TypeError)):
        trending_score(**args)


@pytest.mark.parametrize(
    "bad", [dict(half_life_hours=0.0), dict(w_votes=-1.0), dict(base=math.nan), dict(window_hours=0.0)]
)
def test_bad_params_are_rejected(bad):
    with pytest.raises(ValueError):
        TrendingParams(**bad)


def test_params_are_frozen():
    with pytest.raises(AttributeError):
        DEFAULT.half_life_hours = 1.0  # type: ignore[misc]


# -- rank ----------------------------------------------------------------------------------
items_st = st.lists(
    st.builds(
        TrendingInput,
        paper_id=st.sampled_from(["a", "b", "c", "d", "e", "f"]) | st.text("0123456789.", min_size=1, max_size=8),
        upvotes=st.integers(0, 5),
        stars_gained=st.integers(0, 3),
        published_at=st.integers(0, 6).map(lambda h: NOW - timedelta(hours=12 * h)),
    ),
    max_size=25,
)


@FAST
@given(items=items_st, seed=st.integers(0, 2**32 - 1))
def test_rank_is_deterministic_whatever_the_input_order(items, seed):
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    assert rank(shuffled, NOW) == rank(items, NOW)


@FAST
@given(items=items_st)
def test_rank_is_sorted_by_score_then_newer_then_id(items):
    out = rank(items, NOW)
    assert sorted(out, key=id) == sorted(items, key=id)  # nothing lost (all inside the window)
    keys = [
        (
            -trending_score(i.upvotes, i.stars_gained, (NOW - i.published_at).total_seconds() / 3600),
            NOW - i.published_at,
            i.paper_id,
        )
        for i in out
    ]
    assert keys == sorted(keys)


def test_rank_ties_go_to_newer_then_smaller_id():
    t = NOW - timedelta(hours=5)
    same = [TrendingInput("z", 3, 0, t), TrendingInput("a", 3, 0, t), TrendingInput("m", 3, 0, t)]
    assert [i.paper_id for i in rank(same, NOW)] == ["a", "m", "z"]
    # equal engagement, different age: the newer one wins on the score itself
    older = TrendingInput("0", 3, 0, t - timedelta(hours=1))
    assert [i.paper_id for i in rank([older, *same], NOW)] == ["a", "m", "z", "0"]
    # an exact score tie between different counts (ln 6 == ln 3 + 0.5 ln 4) with duplicate ids
    x, y = TrendingInput("a", 5, 0, t), TrendingInput("a", 2, 3, t)
    assert trending_score(5, 0, 5.0) == trending_score(2, 3, 5.0)
    assert rank([y, x], NOW) == rank([x, y], NOW) == [x, y]


def test_rank_leaves_out_papers_older_than_the_window():
    fresh = TrendingInput("fresh", 0, 0, NOW - timedelta(hours=1))
    stale = TrendingInput("stale", 250, 10_000, NOW - timedelta(days=8))
    assert rank([stale, fresh], NOW) == [fresh]
    assert rank([stale, fresh], NOW, params=WINDOWS["month"]) == [stale, fresh]
    assert rank([stale, fresh], NOW, params=TrendingParams(window_hours=None))[0] == stale


def test_rank_orders_a_small_real_looking_day():
    t = NOW - timedelta(hours=6)
    papers = [
        TrendingInput("2606.1", 40, 4, t),
        TrendingInput("2606.2", 10, 300, t),
        TrendingInput("2606.3", 2, 0, t),
        TrendingInput("2606.4", 40, 4, NOW - timedelta(days=3)),
    ]
    # 10 votes + 300 new stars (2.40 + 0.5 * 5.71) beat 40 votes + 4 stars (3.71 + 0.5 * 1.61);
    # the 3-day-old twin of 2606.1 has a quarter of its score minus a bit, still above 2 votes
    assert [p.paper_id for p in rank(papers, NOW)] == ["2606.2", "2606.1", "2606.4", "2606.3"]
