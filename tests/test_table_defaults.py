"""The defaults on tables: the energy models' reconstruction distance suits centred data, and the
default budget stops when held-out normal rows stop improving (except for the energy models)."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import adlib
from adlib.detectors.gmm import default_distance


def standardised_table(n_train=400, seed=0):
    """Normal rows near a 2-D plane in R^10, standardised; anomalies keep every column's marginal
    distribution (each column drawn on its own from the normal rows) but break the correlations."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(2, 10))
    normal = rng.normal(size=(n_train + 200, 2)) @ loadings + 0.2 * rng.normal(size=(n_train + 200, 10))
    mean, std = normal[:n_train].mean(axis=0), normal[:n_train].std(axis=0)
    normal = (normal - mean) / std
    anomalies = np.stack([rng.choice(normal[:n_train, j], 200) for j in range(10)], axis=1)
    x_test = np.concatenate([normal[n_train:], anomalies]).astype(np.float32)
    return normal[:n_train].astype(np.float32), x_test, np.r_[np.zeros(200), np.ones(200)].astype(int)


def test_the_relative_distance_is_chosen_only_for_data_without_negative_values():
    assert default_distance(np.random.default_rng(0).uniform(0, 1, (20, 5))) == "relative"
    assert default_distance(np.random.default_rng(0).normal(size=(20, 5))) == "absolute"


@pytest.mark.parametrize(("name", "least_auroc"), [("AEGMM", 0.7), ("VAEGMM", 0.8)])
def test_energy_models_rank_a_standardised_table_the_right_way_up(name, least_auroc):
    """With the paper's relative distance |x - x'| / |x|, the most typical rows of a centred table
    (smallest |x|) get the largest distances; the default must not rank them as anomalies. (Measured on
    this table: AEGMM 0.59 and VAEGMM 0.78 with the relative distance, 0.76 and 0.86 with the default.)"""
    x_train, x_test, y_test = standardised_table()
    adlib.seed_everything(0)
    detector = getattr(adlib, name)(seed=0).fit(x_train, verbose=0)
    assert detector.distance_ == "absolute"
    assert roc_auc_score(y_test, detector.score(x_test)) >= least_auroc
    with pytest.raises(ValueError, match="distance"):
        getattr(adlib, name)(distance="cosine").fit(x_train)  # checked at fit


def test_the_default_budget_stops_when_held_out_rows_stop_improving():
    """60 rows of noise in 20 columns can only be memorised: the loss on the held-out rows soon stops
    falling, and the detector keeps the weights of its best chunk instead of training 2,000 steps."""
    x = np.random.default_rng(0).normal(size=(60, 20)).astype(np.float32)
    adlib.seed_everything(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        detector = adlib.AE(seed=0).fit(x, verbose=0)
    assert detector.early_stop_step_ < detector.default_steps
    assert len(detector.history_["val_loss"]) < 20  # stopped before the last of the 20 chunks
    best = int(np.argmin(detector.history_["val_loss"]))
    assert detector.early_stop_step_ == (best + 1) * detector.epoch_steps_[0]


def test_an_explicit_budget_or_an_image_trains_on_every_row_without_stopping():
    x_train = standardised_table(n_train=200)[0]
    adlib.seed_everything(0)
    detector = adlib.AE(seed=0).fit(x_train, steps=50, verbose=0)
    assert "val_loss" not in detector.history_ and not hasattr(detector, "early_stop_step_")
    images = np.random.default_rng(0).uniform(0, 1, (64, 8, 8, 1)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adlib.CollapseWarning)
        detector = adlib.AE(seed=0)
        detector.default_steps = 20  # a short default budget, so the test runs in seconds
        detector.fit(images, verbose=0)
    assert "val_loss" not in detector.history_ and not hasattr(detector, "early_stop_step_")



@pytest.mark.parametrize("name", ["AEGMM", "VAEGMM"])
def test_energy_models_train_the_default_budget_on_every_row_of_a_table(name):
    """No held-out term of the DAGMM loss says when to stop (the energy and covariance terms come from a
    mixture fitted to each validation batch), so the energy models train their whole default budget on
    every row, where the autoencoder on the same table holds rows out and watches them."""
    x_train = standardised_table(n_train=200)[0]
    for detector in (getattr(adlib, name)(seed=0), adlib.AE(seed=0)):
        detector.default_steps = 40  # a short default budget, so the test runs in seconds
        adlib.seed_everything(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", adlib.CollapseWarning)
            detector.fit(x_train, verbose=0)
        if isinstance(detector, adlib.AE):
            assert "val_loss" in detector.history_  # the check above is not vacuous: AE holds rows out
            continue
        assert "val_loss" not in detector.history_ and not hasattr(detector, "early_stop_step_")
        assert sum(detector.epoch_steps_) == detector.default_steps  # the whole budget, as ten chunks
        assert detector.batches_per_pass_ == 4  # all 200 rows in batches of 64, none held out

def test_deep_svdd_takes_a_larger_step_on_tables_and_learns_one():
    """At the paper's 1e-4 the one-class loss is far from converged after the default budget on a table;
    images keep 1e-4."""
    x_train, x_test, y_test = standardised_table()
    adlib.seed_everything(0)
    detector = adlib.DeepSVDD(seed=0).fit(x_train, verbose=0)
    assert detector.one_class_learning_rate(detector.model_) == 1e-3
    assert roc_auc_score(y_test, detector.score(x_test)) >= 0.95  # 0.87 at 1e-4
    images = np.random.default_rng(0).uniform(0, 1, (32, 8, 8, 1)).astype(np.float32)
    image_detector = adlib.DeepSVDD(pretrain=False, seed=0).fit(images, steps=1, verbose=0)
    assert image_detector.one_class_learning_rate(image_detector.model_) == 1e-4
    assert adlib.DeepSVDD(learning_rate=3e-4).one_class_learning_rate(detector.model_) == 3e-4


@pytest.mark.parametrize(("name", "rows", "sizes"), [("AEGMM", 554, (1, 2)), ("AEGMM", 555, (4, 4)),
                                                     ("VAEGMM", 300, (2, 2)), ("VAEGMM", 600, (4, 4))])
def test_energy_models_size_code_and_mixture_from_the_number_of_rows(name, rows, sizes):
    """From 5 rows per parameter of a 4-component mixture over a 4-number code (111 parameters), a table
    gets that larger mixture by default; smaller tables keep Alibi Detect's sizes."""
    x = np.random.default_rng(0).normal(size=(rows, 5)).astype(np.float32)
    detector = getattr(adlib, name)(seed=0).fit(x, steps=1, verbose=0)
    assert (detector.code_size_, detector.n_gmm_) == sizes


def test_explicit_sizes_and_images_keep_their_code_and_mixture():
    table = np.random.default_rng(0).normal(size=(600, 5)).astype(np.float32)
    assert adlib.AEGMM(latent_dim=2, n_gmm=3, seed=0).fit(table, steps=1, verbose=0).n_gmm_ == 3
    assert adlib.AEGMM(latent_dim=2, seed=0).fit(table, steps=1, verbose=0).code_size_ == 2
    images = np.random.default_rng(0).uniform(size=(600, 8, 8)).astype(np.float32)
    detector = adlib.AEGMM(seed=0).fit(images, steps=1, verbose=0)
    assert (detector.code_size_, detector.n_gmm_) == (16, 2)
