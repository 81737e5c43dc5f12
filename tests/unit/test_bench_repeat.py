"""bench/run.py --repeat: each figure is the median of N measured runs, with the spread."""

from __future__ import annotations

from typing import Any

import pytest

from bench.run import _spread, aggregate_runs


def run(rps: float, p50: int, p99: int, errors: int = 0) -> dict[str, Any]:
    return {
        "rps": rps,
        "p50_us": p50,
        "p99_us": p99,
        "cpu_ms_per_request": 1000 / rps,
        "errors": errors,
        "timeout": errors,
        "requests": int(rps * 10),
    }


def test_median_and_min_max_of_each_figure() -> None:
    result = aggregate_runs([run(900, 1200, 9000), run(1000, 1000, 3000, 1), run(1100, 1100, 4000)])
    assert result["rps"] == 1000
    # Each figure's own median, not the figures of the median-rps run.
    assert result["p50_us"] == 1100
    assert result["p99_us"] == 4000
    assert result["spread"]["rps"] == {"min": 900, "max": 1100}
    assert result["spread"]["p99_us"] == {"min": 3000, "max": 9000}
    assert result["runs"] == 3
    assert [each["rps"] for each in result["each"]] == [900, 1000, 1100]


def test_error_counts_add_up_over_the_runs() -> None:
    result = aggregate_runs([run(900, 1, 2, 2), run(1000, 1, 2, 0), run(1100, 1, 2, 3)])
    assert result["errors"] == 5
    assert result["timeout"] == 5


def test_an_even_number_of_runs_takes_the_middle_two() -> None:
    result = aggregate_runs([run(800, 1, 2), run(1000, 1, 2)])
    assert result["rps"] == 900
    assert _spread(result, "rps") == "800-1000"


def test_one_run_is_its_own_median_without_spread_in_the_report() -> None:
    only = run(1234.5, 800, 2400)
    result = aggregate_runs([only])
    assert result["rps"] == 1234.5 and result["runs"] == 1
    assert result["spread"]["rps"] == {"min": 1234.5, "max": 1234.5}
    assert _spread(result, "rps") == ""


def test_no_runs_is_an_error() -> None:
    with pytest.raises(ValueError, match="no runs"):
        aggregate_runs([])
