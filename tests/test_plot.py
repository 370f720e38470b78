import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from adlib import plot  # noqa: E402

Y = np.r_[np.zeros(50), np.ones(10)].astype(int)
S = np.r_[np.random.default_rng(0).uniform(0, 1, 50), np.random.default_rng(1).uniform(0.8, 2, 10)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_roc_and_pr_curves_draw_one_line_per_detector_plus_chance():
    ax = plot.roc_curves(Y, {"a": S, "b": -S})
    assert len(ax.lines) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("a (AUROC") and labels[1].startswith("b (AUROC 0.0")
    assert len(plot.pr_curves(Y, {"a": S}).lines) == 2


def test_instance_scores_and_histogram_show_the_threshold():
    ax = plot.instance_scores(S, Y, threshold=0.9)
    assert ax.lines[0].get_ydata()[0] == 0.9 and len(ax.collections) == 2
    ax = plot.score_histogram(S, Y, threshold=0.9)
    assert ax.lines[0].get_xdata()[0] == 0.9


def test_confusion_matrix_annotates_the_counts():
    ax = plot.confusion_matrix(Y, (S > 0.9).astype(int))
    counts = sorted(int(t.get_text()) for t in ax.texts)
    assert sum(counts) == len(Y)


def test_reconstructions_grid_and_training_curves():
    images = np.random.default_rng(0).uniform(size=(5, 8, 8, 1))
    fig = plot.reconstructions(images, images, n=4, extra={"noise": images})
    assert len(fig.axes) == 12
    ax = plot.training_curves({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2]})
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]


def test_training_curves_keep_a_loss_that_turns_negative_on_a_log_axis():
    assert plot.training_curves({"loss": [3, 2, 1]}, log=True).get_yscale() == "log"
    ax = plot.training_curves({"loss": [3, 2, 1], "energy": [1.0, -0.5, -2.0]}, log=True)
    assert ax.get_yscale() == "symlog"  # a plain log axis would drop the negative energies
    assert ax.get_ylim()[0] < -2.0 and ax.get_xlabel() == "epoch" and ax.get_ylabel()


def test_tabular_feature_scores_shows_the_top_features_largest_last():
    ax = plot.tabular_feature_scores(np.array([0.1, 5.0, 0.3, 2.0]), ["a", "b", "c", "d"], top=2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d", "b"]
