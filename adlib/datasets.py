"""Dataset loaders and the evaluation protocols of the literature, named so the opposite ones cannot be confused.

Files are looked up in this order: the ``data_dir`` argument, the read-only mirror named by
``$ADLIB_DATA``, the writable cache ``$ADLIB_CACHE`` (default ``~/.cache/adlib``), and finally
the canonical origin, downloaded with Keras' ``get_file`` (progress bar, checksum). Every file
is checked against its published checksum before it is used.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._checks import as_float_array


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of a dataset file was found and it could not be downloaded.

    Parameters
    ----------
    *args : object
        The message, as for any ``FileNotFoundError``; :func:`fetch` gives one that names the file, the
        folders searched, its URL, size and checksum, and the cause.
    """


class ChecksumError(ValueError):
    """A dataset file exists but its bytes are not the canonical ones.

    Parameters
    ----------
    *args : object
        The message, as for any ``ValueError``; :func:`verify_file` gives one with the expected and actual
        digests.
    """


@dataclass(frozen=True)
class RemoteFile:
    """A canonical dataset file: its name, where it comes from, and how to recognise it.

    Parameters
    ----------
    name : str
        File name, both in the folders searched and in the cache.
    origin : str
        URL it is downloaded from when no local copy exists.
    sha256 : str
        Hex sha256 digest of the canonical file; every copy is checked against it before use.
    size : int
        Size in bytes, quoted in the error when the file cannot be found or downloaded.
    """

    name: str
    origin: str
    sha256: str
    size: int


MNIST = RemoteFile(
    "mnist.npz",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    11_490_434,
)
KDDCUP99 = RemoteFile(
    "kddcup.data_10_percent.gz",
    # scikit-learn's mirror of the UCI file (same bytes as kdd.ics.uci.edu's kddcup.data_10_percent.gz)
    "https://ndownloader.figshare.com/files/5976042",
    "8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561",
    2_144_903,
)
CIFAR10_ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    170_498_071,
)
CIFAR10_FOLDER = "cifar-10-batches-py"
# md5 of each file in the extracted archive, as published with the dataset (and checked by torchvision)
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


# --------------------------------------------------------------------------- file lookup

def cache_dir() -> Path:
    """The writable download cache: ``$ADLIB_CACHE`` or ``~/.cache/adlib``.

    Returns
    -------
    pathlib.Path
        The folder (not created here), with ``~`` expanded.
    """
    return Path(os.environ.get("ADLIB_CACHE", Path.home() / ".cache" / "adlib")).expanduser()


def _search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    dirs = [Path(data_dir).expanduser()] if data_dir is not None else []
    if os.environ.get("ADLIB_DATA"):
        dirs.append(Path(os.environ["ADLIB_DATA"]).expanduser())
    dirs.append(cache_dir())
    return dirs


@lru_cache(maxsize=64)
def _digest(path: str, algorithm: str, size: int, mtime_ns: int) -> str:
    """Hash a file once per (path, size, mtime): loading twice in a notebook costs nothing."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (sha256 or md5).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    algorithm : str, default "sha256"
        A ``hashlib`` algorithm name (``"sha256"`` or ``"md5"`` here).

    Returns
    -------
    str
        The hex digest. It is cached per path, size and modification time, so a second call on an unchanged
        file does not read it again.
    """
    st = os.stat(path)
    return _digest(str(Path(path).resolve()), algorithm, st.st_size, st.st_mtime_ns)


def verify_file(path: str | os.PathLike, expected: str, algorithm: str = "sha256") -> Path:
    """Raise :class:`ChecksumError` unless ``path`` has the expected digest.

    Parameters
    ----------
    path : str or os.PathLike
        The file to check.
    expected : str
        Its published hex digest.
    algorithm : str, default "sha256"
        The algorithm of ``expected`` (``"sha256"`` or ``"md5"``).

    Returns
    -------
    pathlib.Path
        ``path``, when it matches.
    """
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{path} is not the canonical file: its {algorithm} is {actual}, expected {expected}. "
            "The copy is corrupt or a different version; delete it (or fix the mirror) and load again."
        )
    return Path(path)


def _offline_error(remote: RemoteFile, searched: list[Path], cause: BaseException) -> DatasetNotFoundError:
    where = ", ".join(str(d) for d in searched)
    return DatasetNotFoundError(
        f"Could not find or download {remote.name}.\n"
        f"  Looked in: {where}\n"
        f"  Download from: {remote.origin} ({remote.size:,} bytes, sha256 {remote.sha256})\n"
        f"  Fix: download it by hand and put it in a folder named by ADLIB_DATA (read-only mirror) "
        f"or in {cache_dir()} (ADLIB_CACHE), or pass data_dir=.\n"
        f"  Cause: {type(cause).__name__}: {cause}"
    )


def fetch(remote: RemoteFile, data_dir: str | os.PathLike | None = None) -> Path:
    """Return a verified local path of ``remote``, downloading it into the cache if needed.

    Parameters
    ----------
    remote : RemoteFile
        The file to find.
    data_dir : str, os.PathLike or None, default None
        A folder searched first, before ``$ADLIB_DATA`` and the cache.

    Returns
    -------
    pathlib.Path
        The first copy found in the search order (see the module docstring), or the downloaded one, after its
        checksum was verified. Raises :class:`DatasetNotFoundError` when there is none and the download fails,
        :class:`ChecksumError` when the copy found is not the canonical file.
    """
    searched = _search_dirs(data_dir)
    for folder in searched:
        candidate = folder / remote.name
        if candidate.is_file():
            return verify_file(candidate, remote.sha256)
    target = cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        import keras  # deferred: loading a dataset should not pay for TensorFlow unless it downloads

        path = keras.utils.get_file(remote.name, origin=remote.origin, file_hash=remote.sha256,
                                    hash_algorithm="sha256", cache_dir=str(target), cache_subdir="")
    except Exception as exc:  # urllib, OSError and Keras' own errors all mean: not available
        raise _offline_error(remote, searched, exc) from exc
    return verify_file(path, remote.sha256)


# --------------------------------------------------------------------------- MNIST, CIFAR-10

def load_mnist(data_dir: str | os.PathLike | None = None):
    """MNIST as Keras ships it: ``(x_train, y_train), (x_test, y_test)``, uint8 images (n, 28, 28).

    Parameters
    ----------
    data_dir : str, os.PathLike or None, default None
        A folder searched first for ``mnist.npz`` (see :func:`fetch`).

    Returns
    -------
    tuple
        ``(x_train, y_train), (x_test, y_test)``: 60,000 and 10,000 images, labels 0-9.
    """
    with np.load(fetch(MNIST, data_dir)) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def extract_tar(archive: Path, prefix: str, destination: Path, verbose: int = 1) -> None:
    """Extract the members of a ``.tar.gz`` whose names start with ``prefix`` into ``destination``,
    with a Keras progress bar over their bytes.

    Parameters
    ----------
    archive : Path
        The ``.tar.gz`` file.
    prefix : str
        Only members whose names start with it are extracted (e.g. ``"cifar-10-batches-py/"``).
    destination : Path
        The folder the members are written into (their paths inside the archive are kept).
    verbose : int, default 1
        1 shows the progress bar, 0 silences it.
    """
    import keras  # deferred, as in fetch

    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        bar = keras.utils.Progbar(sum(m.size for m in members) or None, verbose=verbose, unit_name="byte")
        for member in members:
            tar.extract(member, destination, filter="data")
            bar.add(member.size)


def _cifar_folder(data_dir, verbose: int = 1) -> Path:
    """Find a verified ``cifar-10-batches-py`` folder, extracting the archive if only it is present."""
    searched = _search_dirs(data_dir)
    for folder in searched:
        candidate = folder / CIFAR10_FOLDER
        if candidate.is_dir():
            for name, md5 in CIFAR10_MD5.items():
                if not (candidate / name).is_file():
                    raise ChecksumError(f"{candidate} is incomplete: {name} is missing.")
                verify_file(candidate / name, md5, "md5")
            return candidate
    archive = fetch(CIFAR10_ARCHIVE, data_dir)
    extracted = cache_dir() / CIFAR10_FOLDER
    if not extracted.is_dir():
        cache_dir().mkdir(parents=True, exist_ok=True)
        if verbose:
            print(f"Extracting {archive.name} into {cache_dir()}")
        extract_tar(archive, CIFAR10_FOLDER + "/", cache_dir(), verbose=verbose)
    for name, md5 in CIFAR10_MD5.items():
        verify_file(extracted / name, md5, "md5")
    return extracted


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")  # the canonical files are Python 2 pickles of arrays
    x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(batch[b"labels"], dtype=np.uint8)


def load_cifar10(data_dir: str | os.PathLike | None = None, verbose: int = 1):
    """CIFAR-10: ``(x_train, y_train), (x_test, y_test)``, uint8 NHWC images (n, 32, 32, 3), labels (n,).

    Parameters
    ----------
    data_dir : str, os.PathLike or None, default None
        A folder searched first for an extracted ``cifar-10-batches-py`` folder, then for the archive (see
        :func:`fetch`); an archive is extracted into the cache. Every extracted file is checked by md5.
    verbose : int, default 1
        Show a progress bar while an archive is extracted; 0 is silent.

    Returns
    -------
    tuple
        ``(x_train, y_train), (x_test, y_test)``: 50,000 and 10,000 images, labels 0-9 (``CIFAR10_CLASSES``).
    """
    folder = _cifar_folder(data_dir, verbose)
    parts = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(folder / "test_batch")
    return ((np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])),
            (x_test, y_test))


# --------------------------------------------------------------------------- KDD Cup 99

KDD_COLUMNS = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)
KDD_CATEGORICAL = ("protocol_type", "service", "flag")
# The 18 continuous traffic features Alibi Detect's KDD examples keep (alibi_detect.datasets.fetch_kdd).
KDD_ALIBI_FEATURES = (
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)
# The four attack categories of the KDD Cup 99 task description.
KDD_ATTACK_CATEGORY = {
    "normal": "normal",
    **dict.fromkeys(("back", "land", "neptune", "pod", "smurf", "teardrop"), "dos"),
    **dict.fromkeys(("ipsweep", "nmap", "portsweep", "satan"), "probe"),
    **dict.fromkeys(("ftp_write", "guess_passwd", "imap", "multihop", "phf", "spy",
                     "warezclient", "warezmaster"), "r2l"),
    **dict.fromkeys(("buffer_overflow", "loadmodule", "perl", "rootkit"), "u2r"),
}


@lru_cache(maxsize=2)
def _parse_kdd(path: str) -> pd.DataFrame:
    with gzip.open(path, "rt") as fh:
        frame = pd.read_csv(fh, header=None, names=[*KDD_COLUMNS, "label"])
    frame["label"] = frame["label"].str.rstrip(".")
    unknown = set(frame["label"]) - set(KDD_ATTACK_CATEGORY)
    if unknown:
        raise ValueError(f"unexpected KDD Cup 99 labels {sorted(unknown)}; is this the 10% training file?")
    frame["attack_category"] = frame["label"].map(KDD_ATTACK_CATEGORY)
    return frame


def load_kddcup99(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """KDD Cup 99 (10% training file, 494,021 rows): the 41 raw columns, ``label`` and ``attack_category``.

    ``label`` is the connection type without the trailing dot (``normal``, ``smurf``, ...);
    ``attack_category`` is one of ``normal``, ``dos``, ``probe``, ``r2l``, ``u2r``.

    Parameters
    ----------
    data_dir : str, os.PathLike or None, default None
        A folder searched first for ``kddcup.data_10_percent.gz`` (see :func:`fetch`).

    Returns
    -------
    pandas.DataFrame
        A fresh copy of the parsed table (the parse is cached), so it may be changed freely.
    """
    return _parse_kdd(str(fetch(KDDCUP99, data_dir))).copy()


@dataclass
class Split:
    """Train and test arrays of one named protocol; ``y_test`` is 1 for outliers, 0 for normal.

    Parameters
    ----------
    x_train : numpy.ndarray
        Training samples: only the protocol's normal data, under every protocol here.
    x_test : numpy.ndarray
        Test samples.
    y_test : numpy.ndarray
        Label of each test sample: 1 outlier, 0 normal.
    protocol : str
        Description of the protocol, shown by ``repr`` and worth reporting with every result.
    feature_names : list of str, default []
        Column names for tables (empty for images).
    y_train : numpy.ndarray or None, default None
        Class of each training sample, where the protocol has classes (images).
    test_groups : numpy.ndarray or None, default None
        Finer label of each test sample: its class (images) or attack category (KDD).
    test_index : numpy.ndarray or None, default None
        Row of each test sample in the source table (KDD).
    """

    x_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    protocol: str
    feature_names: list[str] = field(default_factory=list)
    y_train: np.ndarray | None = None
    test_groups: np.ndarray | None = None  # finer label of each test row: class or attack category
    test_index: np.ndarray | None = None  # row of each test sample in the source table (KDD)

    def __repr__(self) -> str:
        return (f"Split(protocol={self.protocol!r}, x_train={self.x_train.shape}, "
                f"x_test={self.x_test.shape}, test outliers={int(self.y_test.sum())}/{len(self.y_test)})")


def kdd_alibi(frame: pd.DataFrame, *, n_train: int | None = None, seed: int = 0,
              test_fraction: float = 0.2) -> Split:
    """KDD "Alibi" protocol: attacks are outliers; the 18 continuous features; train on normal traffic.

    Normal rows are split into train and held-out test; the test set is the held-out normals plus
    every attack. Standardisation statistics come from the normal training rows only (see
    :func:`standardize`). Use :func:`outlier_batch` on ``x_test``/``y_test`` to draw the 1,000-row
    batches with a chosen outlier percentage that Alibi Detect's examples use.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table from :func:`load_kddcup99`.
    n_train : int or None, default None
        Keep only the first ``n_train`` (shuffled) normal training rows; None keeps them all.
    seed : int, default 0
        Seed of the shuffle that splits the normal rows.
    test_fraction : float, default 0.2
        Share of the normal rows held out for the test set.

    Returns
    -------
    Split
        Unstandardised features, with ``test_groups`` (attack category) and ``test_index``.
    """
    rng = np.random.default_rng(seed)
    x = frame.loc[:, KDD_ALIBI_FEATURES].to_numpy(np.float32)
    y = (frame["attack_category"] != "normal").to_numpy(int)
    normal = rng.permutation(np.flatnonzero(y == 0))
    n_test_normal = int(round(test_fraction * len(normal)))
    train_idx = normal[n_test_normal:]
    if n_train is not None:
        train_idx = train_idx[:n_train]
    test_idx = np.concatenate([normal[:n_test_normal], np.flatnonzero(y == 1)])
    return Split(x[train_idx], x[test_idx], y[test_idx],
                 protocol="kdd-alibi: attacks are outliers, 18 continuous features, train on normal",
                 feature_names=list(KDD_ALIBI_FEATURES),
                 test_groups=frame["attack_category"].to_numpy()[test_idx], test_index=test_idx)


def kdd_dagmm(frame: pd.DataFrame, *, seed: int = 0, scale: bool = True) -> Split:
    """KDD "DAGMM" protocol (Zong et al. 2018): ``normal`` traffic (about 20%) is the anomaly.

    All 41 features, the three categorical ones one-hot encoded (118 columns on the 10% file);
    a random 50/50 split; the model trains on the attack rows of the training half only;
    columns are min-max scaled with statistics of that training data. At test time the paper
    flags the 20% of samples with the highest energy. ``scale=False`` keeps the raw values (byte
    counts up to about 7e8): what the Efficient GAN authors' code feeds its networks, because it
    computes the min-max scaling and discards the result.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table from :func:`load_kddcup99`.
    seed : int, default 0
        Seed of the random 50/50 split.
    scale : bool, default True
        Min-max scale the columns with the training rows' statistics; False keeps the raw values.

    Returns
    -------
    Split
        With ``feature_names`` (the one-hot columns), ``test_groups`` (attack category) and ``test_index``.
    """
    rng = np.random.default_rng(seed)
    encoded = pd.get_dummies(frame.loc[:, KDD_COLUMNS], columns=list(KDD_CATEGORICAL), dtype=np.float32)
    x = encoded.to_numpy(np.float32)
    y = (frame["label"] == "normal").to_numpy(int)
    order = rng.permutation(len(x))
    half = len(x) // 2
    train_idx, test_idx = order[:half], order[half:]
    train_idx = train_idx[y[train_idx] == 0]
    if scale:
        lo, hi = x[train_idx].min(axis=0), x[train_idx].max(axis=0)
        x = (x - lo) / np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
    return Split(x[train_idx], x[test_idx], y[test_idx],
                 protocol="kdd-dagmm: normal traffic is the ~20% anomaly, 41 features one-hot, 50/50 split"
                          + ("" if scale else ", raw (unscaled) values"),
                 feature_names=list(encoded.columns),
                 test_groups=frame["attack_category"].to_numpy()[test_idx], test_index=test_idx)


def standardize(split: Split) -> Split:
    """Standardise train and test with the mean and std of the training data only (no test leakage).

    Parameters
    ----------
    split : Split
        The split to standardise; it is not changed. Columns that are constant in training are divided by 1.

    Returns
    -------
    Split
        A new split with float32 features and ``", standardised on training data"`` added to its protocol.
    """
    mean = split.x_train.mean(axis=0)
    std = split.x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return Split(((split.x_train - mean) / std).astype(np.float32),
                 ((split.x_test - mean) / std).astype(np.float32),
                 split.y_test, split.protocol + ", standardised on training data",
                 split.feature_names, split.y_train, split.test_groups, split.test_index)


# --------------------------------------------------------------------------- image protocols

def prepare_images(x: np.ndarray, size: int | None = None) -> np.ndarray:
    """uint8 images to float32 in [0, 1] with a channel axis; ``size`` zero-pads 28x28 to e.g. 32x32.

    Parameters
    ----------
    x : array-like
        Images (n, h, w) or (n, h, w, c); uint8 is divided by 255, other types are only cast to float32.
    size : int or None, default None
        Zero-pad every image, centred, to ``size`` x ``size``; it may not be smaller than the images. None
        keeps the size.

    Returns
    -------
    numpy.ndarray
        Float32 images (n, h, w, c).
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (n, h, w) or (n, h, w, c); got {x.shape}")
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    if size is not None:
        h, w = x.shape[1:3]
        if size < h or size < w:
            raise ValueError(f"cannot pad images of {h}x{w} to the smaller size {size}")
        top, left = (size - h) // 2, (size - w) // 2
        x = np.pad(x, ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0)))
    return x


def contrast_normalize(x_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Deep SVDD's image preprocessing (Ruff et al. 2018): global contrast normalisation of every
    image with the L1 norm (subtract its mean, divide by its mean absolute deviation), then one
    min-max scaling to [0, 1] whose two constants come from ``x_train`` alone. Returns the
    training images and each of ``others`` (e.g. the test images) transformed the same way.

    Parameters
    ----------
    x_train : numpy.ndarray
        Training images, any form :func:`prepare_images` accepts; they alone set the min-max constants.
    *others : numpy.ndarray
        Further image sets, transformed with the same constants (so their values may fall outside [0, 1]).

    Returns
    -------
    tuple of numpy.ndarray
        Float32 images (n, h, w, c), ``x_train`` first.
    """
    def gcn(x):
        x = prepare_images(x).astype(np.float64)
        x = x - x.mean(axis=(1, 2, 3), keepdims=True)
        spread = np.abs(x).mean(axis=(1, 2, 3), keepdims=True)
        return x / np.where(spread > 0, spread, 1.0)

    normalized = [gcn(x) for x in (x_train, *others)]
    lo, hi = normalized[0].min(), normalized[0].max()
    scale = hi - lo if hi > lo else 1.0
    return tuple(((x - lo) / scale).astype(np.float32) for x in normalized)


def one_class_split(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], *,
                    normal: Sequence[int] | None = None, anomalous: Sequence[int] | None = None,
                    seed: int = 0, test_fraction: float = 0.2) -> Split:
    """The two opposite one-class protocols of the image literature; give exactly one of the two.

    ``normal=[d]`` (OCGAN, Deep SVDD, ADGAN): train on the training images of class ``d``;
    test on the whole test set, every other class being an outlier.

    ``anomalous=[d]`` (GANomaly, EGBAD): pool train and test images of the other classes,
    shuffle and split them ``1 - test_fraction`` / ``test_fraction``; train on the first part;
    test on the held-out normals plus every image (train and test) of class ``d``.

    Parameters
    ----------
    train, test : tuple of numpy.ndarray
        ``(x, y)`` of the training and test sets, as the loaders return them.
    normal : sequence of int or None, default None
        The normal classes, for the ``normal=`` protocol.
    anomalous : sequence of int or None, default None
        The anomalous classes, for the ``anomalous=`` protocol.
    seed : int, default 0
        Seed of the shuffle of the pooled normal images (``anomalous=`` only).
    test_fraction : float, default 0.2
        Share of the pooled normal images held out for testing (``anomalous=`` only).

    Returns
    -------
    Split
        With ``y_train`` (the training classes) and ``test_groups`` (the class of each test image).
    """
    if (normal is None) == (anomalous is None):
        raise ValueError("give exactly one of normal=[...] (train on those classes) "
                         "or anomalous=[...] (train on all the others)")
    (x_tr, y_tr), (x_te, y_te) = train, test
    if normal is not None:
        classes = np.asarray(list(normal))
        x_train = x_tr[np.isin(y_tr, classes)]
        y_test = (~np.isin(y_te, classes)).astype(int)
        return Split(x_train, x_te, y_test,
                     protocol=f"one-class normal={list(map(int, classes))}: train on it, test on the full test set",
                     y_train=y_tr[np.isin(y_tr, classes)], test_groups=y_te)
    classes = np.asarray(list(anomalous))
    x_all, y_all = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
    is_anomalous = np.isin(y_all, classes)
    normal_idx = np.random.default_rng(seed).permutation(np.flatnonzero(~is_anomalous))
    n_test = int(round(test_fraction * len(normal_idx)))
    test_idx = np.concatenate([normal_idx[:n_test], np.flatnonzero(is_anomalous)])
    return Split(x_all[normal_idx[n_test:]], x_all[test_idx], is_anomalous[test_idx].astype(int),
                 protocol=(f"one-class anomalous={list(map(int, classes))}: train on the other classes "
                           f"({1 - test_fraction:.0%} of them), test on held-out normals + all anomalous"),
                 y_train=y_all[normal_idx[n_test:]], test_groups=y_all[test_idx])


def outlier_batch(x: np.ndarray, is_outlier: np.ndarray, n_samples: int, perc_outlier: float,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` rows without replacement, ``perc_outlier`` percent of them outliers.

    Parameters
    ----------
    x : numpy.ndarray
        The rows to draw from.
    is_outlier : array-like
        1 (or True) for every outlier row of ``x``.
    n_samples : int
        Rows in the batch.
    perc_outlier : float
        Percentage in [0, 100] of outliers in the batch (rounded to whole rows).
    seed : int, default 0
        Seed of the draw and of the shuffle that mixes normal and outlier rows.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x_batch, y_batch)``, with ``y_batch`` 1 for outliers. Raises ``ValueError`` when either pool has too
        few rows.
    """
    is_outlier = np.asarray(is_outlier).astype(bool)
    if not 0 <= perc_outlier <= 100:
        raise ValueError(f"perc_outlier is a percentage in [0, 100]; got {perc_outlier}")
    n_out = int(round(n_samples * perc_outlier / 100))
    n_in = n_samples - n_out
    pool_in, pool_out = np.flatnonzero(~is_outlier), np.flatnonzero(is_outlier)
    if n_in > len(pool_in) or n_out > len(pool_out):
        raise ValueError(f"asked for {n_in} normal and {n_out} outlier rows, but only "
                         f"{len(pool_in)} and {len(pool_out)} are available")
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(pool_in, n_in, replace=False), rng.choice(pool_out, n_out, replace=False)])
    idx = rng.permutation(idx)
    return x[idx], is_outlier[idx].astype(int)


def apply_mask(x: np.ndarray, mask_size: tuple[int, int], n_masks: int = 1, *,
               noise_range: tuple[float, float] = (0.0, 1.0), clip_range: tuple[float, float] = (0.0, 1.0),
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Add uniform-noise patches at random places: the perturbation experiment of Alibi Detect's VAE example.

    Returns ``(masked, masks)`` of shape ``(n_images * n_masks, h, w, c)``: ``n_masks`` masked copies
    of each image in turn, and the additive noise each copy received (zero outside its patch).

    Parameters
    ----------
    x : array-like
        Images (n, h, w, c).
    mask_size : tuple of int
        Height and width of each patch; it must fit inside the images.
    n_masks : int, default 1
        Masked copies of every image, each with its own patch.
    noise_range : tuple of float, default (0.0, 1.0)
        Low and high of the uniform noise added inside a patch.
    clip_range : tuple of float, default (0.0, 1.0)
        Range the masked images are clipped to (the masks themselves are not clipped).
    seed : int, default 0
        Seed of the patch positions and the noise.

    Returns
    -------
    masked, masks : numpy.ndarray
        Float32 arrays of shape ``(n * n_masks, h, w, c)``, as above.
    """
    x = as_float_array(x, name="x", min_rank=4)
    n, h, w, c = x.shape
    mh, mw = mask_size
    if not (0 < mh <= h and 0 < mw <= w):
        raise ValueError(f"mask_size {mask_size} must fit inside the {h}x{w} images")
    rng = np.random.default_rng(seed)
    masks = np.zeros((n * n_masks, h, w, c), dtype=np.float32)
    tops = rng.integers(0, h - mh + 1, size=n * n_masks)
    lefts = rng.integers(0, w - mw + 1, size=n * n_masks)
    noise = rng.uniform(*noise_range, size=(n * n_masks, mh, mw, c)).astype(np.float32)
    for i, (top, left) in enumerate(zip(tops, lefts)):
        masks[i, top:top + mh, left:left + mw] = noise[i]
    masked = np.clip(np.repeat(x, n_masks, axis=0) + masks, *clip_range).astype(np.float32)
    return masked, masks
