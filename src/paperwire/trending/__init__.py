"""Trending: the score that orders the "trending" lists (today / this week / this month)."""

from .score import DEFAULT, WINDOWS, TrendingInput, TrendingParams, rank, trending_score

__all__ = ["DEFAULT", "WINDOWS", "TrendingInput", "TrendingParams", "rank", "trending_score"]
