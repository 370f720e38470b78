"""The figures the chapters show: scores against a threshold, ROC/PR curves, confusion matrices,
reconstructions and training curves. Every function draws on (and returns) a Matplotlib Axes, except
:func:`reconstructions`, which returns a new Figure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from sklearn import metrics as skm


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


def instance_scores(scores, y_true=None, threshold: float | None = None, *, ax=None,
                    log: bool = False, labels: Sequence[str] = ("normal", "outlier")):
    """Each sample's score (x: sample index), coloured by its true label, with the threshold line.

    Parameters
    ----------
    scores : array-like
        One score per sample.
    y_true : array-like or None, default None
        0/1 labels (1 = outlier) that colour the points; None draws them all in one colour.
    threshold : float or None, default None
        Draw a dashed horizontal line at the threshold.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.
    log : bool, default False
        Log scale on the score axis, for scores that span orders of magnitude.
    labels : sequence of str, default ("normal", "outlier")
        Legend names of label 0 and label 1.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    scores = np.asarray(scores)
    idx = np.arange(len(scores))
    if y_true is None:
        ax.scatter(idx, scores, s=6)
    else:
        y_true = np.asarray(y_true)
        for value, name, colour in ((0, labels[0], "tab:blue"), (1, labels[1], "tab:red")):
            mask = y_true == value
            ax.scatter(idx[mask], scores[mask], s=6, c=colour, label=name, alpha=0.7)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls="--", lw=1, label="threshold")
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="sample", ylabel="anomaly score")
    ax.legend(loc="upper left")
    return ax


def score_histogram(scores, y_true, threshold: float | None = None, *, ax=None, bins: int = 50,
                    log: bool = False, labels: Sequence[str] = ("normal", "outlier")):
    """Score distributions of normal and outlier samples, with the threshold.

    Parameters
    ----------
    scores : array-like
        One score per sample.
    y_true : array-like
        0/1 labels, 1 = outlier; each class gets its own histogram, normalised to a density.
    threshold : float or None, default None
        Draw a dashed vertical line at the threshold.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.
    bins : int, default 50
        Number of bins, shared by both classes.
    log : bool, default False
        Histogram of log10 of the scores (floored at 1e-12) instead of the scores.
    labels : sequence of str, default ("normal", "outlier")
        Legend names of label 0 and label 1.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    scores, y_true = np.asarray(scores), np.asarray(y_true)
    values = np.log10(np.maximum(scores, 1e-12)) if log else scores
    edges = np.histogram_bin_edges(values, bins=bins)
    for value, name, colour in ((0, labels[0], "tab:blue"), (1, labels[1], "tab:red")):
        ax.hist(values[y_true == value], bins=edges, alpha=0.6, color=colour, label=name, density=True)
    if threshold is not None:
        ax.axvline(np.log10(threshold) if log else threshold, color="k", ls="--", lw=1, label="threshold")
    ax.set(xlabel="log10 anomaly score" if log else "anomaly score", ylabel="density")
    ax.legend()
    return ax


def roc_curves(y_true, scores: Mapping[str, np.ndarray], *, ax=None):
    """ROC curves of several detectors on the same labels, AUROC in the legend.

    Parameters
    ----------
    y_true : array-like
        0/1 labels, 1 = outlier.
    scores : mapping of str to array-like
        One score array per detector, by name.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for name, s in scores.items():
        fpr, tpr, _ = skm.roc_curve(y_true, s)
        ax.plot(fpr, tpr, label=f"{name} (AUROC {skm.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")
    return ax


def pr_curves(y_true, scores: Mapping[str, np.ndarray], *, ax=None):
    """Precision-recall curves of several detectors, average precision in the legend.

    Parameters
    ----------
    y_true : array-like
        0/1 labels, 1 = outlier; their mean is the "chance" line.
    scores : mapping of str to array-like
        One score array per detector, by name.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for name, s in scores.items():
        precision, recall, _ = skm.precision_recall_curve(y_true, s)
        ax.plot(recall, precision, label=f"{name} (AP {skm.average_precision_score(y_true, s):.3f})")
    ax.axhline(np.mean(y_true), color="grey", ls=":", lw=1, label="chance")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend(loc="lower left")
    return ax


def confusion_matrix(y_true, y_pred, *, ax=None, labels: Sequence[str] = ("normal", "outlier")):
    """Confusion matrix heatmap (counts), true labels on rows.

    Parameters
    ----------
    y_true : array-like
        True 0/1 labels, 1 = outlier.
    y_pred : array-like
        Predicted 0/1 labels, e.g. ``Prediction.is_outlier``.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.
    labels : sequence of str, default ("normal", "outlier")
        Tick names of label 0 and label 1.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    cm = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax,
                xticklabels=labels, yticklabels=labels)
    ax.set(xlabel="predicted", ylabel="true")
    return ax


def reconstructions(originals, reconstructed, *, n: int = 8, titles: Sequence[str] = ("input", "reconstruction"),
                    extra: Mapping[str, np.ndarray] | None = None, cmap: str = "gray"):
    """Grid of images: one row of originals, one of reconstructions, and optional further rows.

    Parameters
    ----------
    originals : array-like
        Images (n, h, w) or (n, h, w, c); single-channel images are shown in ``cmap``, colour images clipped to
        [0, 1].
    reconstructed : array-like
        Their reconstructions, in the same order.
    n : int, default 8
        Columns: the first ``n`` images (at most as many as there are originals).
    titles : sequence of str, default ("input", "reconstruction")
        Row names of the originals and the reconstructions.
    extra : mapping of str to array-like or None, default None
        Further rows, by row name (e.g. the difference images).
    cmap : str, default "gray"
        Colour map of single-channel images.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (not an Axes, unlike the other functions here).
    """
    rows = {titles[0]: originals, titles[1]: reconstructed, **(extra or {})}
    n = min(n, len(originals))
    scale = min(1.0, 10.0 / (1.4 * n))  # at most 10 inches wide: the book's column shows it unshrunk
    fig, axes = plt.subplots(len(rows), n, figsize=(1.4 * n * scale, 1.5 * len(rows) * scale), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            img = np.asarray(images[c])
            if img.ndim == 3 and img.shape[-1] == 1:
                img = img[..., 0]
            axes[r, c].imshow(np.clip(img, 0, 1) if img.ndim == 3 else img, cmap=cmap if img.ndim == 2 else None)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def training_curves(history: Mapping[str, Sequence[float]], *, ax=None, log: bool = False):
    """Every loss and metric recorded by ``fit`` (``detector.history_``) against the epoch.

    ``log=True`` uses a log axis, or a symmetric log axis (linear near zero) when a curve reaches
    zero or below, e.g. an energy term that turns negative, so that no curve drops off the plot.

    Parameters
    ----------
    history : mapping of str to sequence of float
        Values per epoch by name, e.g. ``detector.history_``; names starting ``val_`` are drawn dashed.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.
    log : bool, default False
        Log (or symmetric log) scale on the value axis, as above.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    values_seen = []
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, ls="--" if name.startswith("val_") else "-")
        values_seen.extend(np.asarray(values, float).ravel())
    if log:
        finite = np.asarray(values_seen)[np.isfinite(values_seen)]
        if finite.size and finite.min() <= 0:
            nonzero = np.abs(finite[finite != 0])
            ax.set_yscale("symlog", linthresh=float(nonzero.min()) if nonzero.size else 1.0)
        else:
            ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="value (training: mean over the epoch)")
    ax.legend(fontsize=8)
    return ax


def tabular_feature_scores(feature_scores, feature_names: Sequence[str], *, top: int = 10, ax=None):
    """Horizontal bars: the features that contribute most to one sample's score.

    Parameters
    ----------
    feature_scores : array-like
        The feature scores of one sample, one per column (flattened).
    feature_names : sequence of str
        The column names, in the same order.
    top : int, default 10
        How many of the highest feature scores to show, the highest at the top.
    ax : matplotlib.axes.Axes or None, default None
        Axes to draw on; None draws on a new 6 x 4 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    fs = np.asarray(feature_scores).ravel()
    order = np.argsort(fs)[::-1][:top][::-1]
    ax.barh([feature_names[i] for i in order], fs[order])
    ax.set(xlabel="feature score (squared reconstruction error)")
    return ax
