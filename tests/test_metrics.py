import numpy as np
import pytest

from adlib.metrics import evaluate, percentile_threshold, top_fraction_threshold


def test_evaluate_matches_hand_computed_values():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    r = evaluate(y, s, threshold=0.3)
    assert r["auroc"] == pytest.approx(0.75)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(1.0)
    assert r["f1"] == pytest.approx(0.8)
    assert r["accuracy"] == pytest.approx(0.75)


def test_evaluate_without_threshold_gives_ranking_metrics_only():
    r = evaluate([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    assert r == {"auroc": 1.0, "auprc": 1.0}


def test_threshold_is_exclusive_like_predict():
    r = evaluate([0, 1], [0.5, 0.9], threshold=0.5)
    assert r["precision"] == 1.0 and r["recall"] == 1.0


@pytest.mark.parametrize("y,s,match", [
    ([0, 1, 1], [0.1, 0.2], "must match"),
    ([1, 1], [0.1, 0.2], "both normal"),
    ([0, 2], [0.1, 0.2], "only 0"),
    ([0, 1], [0.1, np.nan], "NaN"),
])
def test_evaluate_rejects_bad_input(y, s, match):
    with pytest.raises(ValueError, match=match):
        evaluate(y, s)


def test_top_fraction_threshold_flags_that_fraction():
    s = np.arange(1000.0)
    assert np.mean(s > top_fraction_threshold(s, 0.2)) == pytest.approx(0.2, abs=0.002)
    with pytest.raises(ValueError):
        top_fraction_threshold(s, 1.5)


def test_top_fraction_threshold_flags_a_tied_block_when_that_is_closer_to_the_fraction():
    # 75 distinct scores, then 20 duplicates of one row, then 5 higher: the 80th percentile lands in
    # the tied block; '>' alone flags 5%, the block included gives 25%, nearer the intended 20%
    scores = np.r_[np.arange(75.0), np.full(20, 100.0), np.arange(200.0, 205.0)]
    assert np.mean(scores > top_fraction_threshold(scores, 0.2)) == pytest.approx(0.25)
    assert np.mean(scores > np.percentile(scores, 80)) == pytest.approx(0.05)  # the naive cut


def test_percentile_threshold_handles_a_block_of_tied_scores():
    continuous = np.arange(100.0)
    assert np.mean(continuous > percentile_threshold(continuous, 95)) == pytest.approx(0.05, abs=0.01)
    # 90 distinct normal scores, then 8 identical duplicates, then 2 higher: the 95th percentile
    # lands inside the tied block; '>' alone would flag 2%, flagging the block too gives 10%,
    # and 2% is nearer the intended 5%, so the block stays unflagged ...
    tied = np.r_[np.arange(90.0), np.full(8, 500.0), [900.0, 901.0]]
    t = percentile_threshold(tied, 95)
    assert np.mean(tied > t) == pytest.approx(0.02)
    # ... whereas with a block of 3 whose inclusion gives 5% exactly, the block is flagged.
    tied = np.r_[np.arange(95.0), np.full(3, 500.0), [900.0, 901.0]]
    t = percentile_threshold(tied, 95)
    assert np.mean(tied > t) == pytest.approx(0.05)
