from __future__ import annotations

from stages.lib import metrics as M


def test_exact_match_normalizes_case_and_whitespace() -> None:
    assert M.exact_match("  Fixed `a.py`.\n\nDone ", "fixed `a.py`. done") == 1.0
    assert M.exact_match("Fixed a.py", "Fixed b.py") == 0.0


def test_keywords_come_from_paths_identifiers_numbers_and_backticks() -> None:
    ref = "Fixed `parse_date` in `src/utils/dates.py`: ISO weeks. `pytest tests/test_dates.py`: 14 passed."
    keys = M.keywords(ref)
    assert {"parse_date", "src/utils/dates.py", "pytest tests/test_dates.py", "14"} <= set(keys)
    assert M.keyword_recall("I changed src/utils/dates.py and parse_date", keys) == 2 / len(keys)
    assert M.keyword_recall(ref, keys) == 1.0


def test_keywords_fall_back_to_content_words() -> None:
    assert M.keywords("Sure, happy to help with that.") == ["sure", "happy", "help"]


def test_token_f1_and_aggregation() -> None:
    assert M.token_f1("a b c", "a b c") == 1.0
    assert 0 < M.token_f1("a b x", "a b c") < 1
    rows = [M.score("x", "x"), M.score("y", "z")]
    mean = M.mean_scores(rows)
    assert mean["exact_match"] == 0.5
    assert M.delta({"exact_match": 0.5, "keyword_recall": 0.5, "token_f1": 0.5}, mean)["exact_match"] == 0.0
