import gzip
import hashlib
import io
import os
import pickle
import shutil
import tarfile

import numpy as np
import pytest

from adlib import datasets
from adlib.datasets import ChecksumError, DatasetNotFoundError, RemoteFile

from .conftest import requires_mirror

UNREACHABLE = "http://127.0.0.1:9/nothing-here.bin"  # discard port on loopback: refused at once, no network


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets an empty writable cache so nothing leaks between tests or into ~/.cache."""
    monkeypatch.setenv("ADLIB_CACHE", str(tmp_path / "cache"))
    datasets._digest.cache_clear()


def _remote(tmp_path, content=b"canonical bytes", name="file.bin"):
    src = tmp_path / "origin" / name
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(content)
    return RemoteFile(name, UNREACHABLE, hashlib.sha256(content).hexdigest(), len(content)), src


def test_fetch_finds_data_dir_then_mirror_then_cache(tmp_path, monkeypatch):
    remote, src = _remote(tmp_path)
    assert datasets.fetch(remote, data_dir=src.parent) == src
    monkeypatch.setenv("ADLIB_DATA", str(src.parent))
    assert datasets.fetch(remote) == src
    monkeypatch.delenv("ADLIB_DATA")
    cached = datasets.cache_dir() / remote.name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(src.read_bytes())
    assert datasets.fetch(remote) == cached


def test_fetch_rejects_a_corrupted_mirror_copy(tmp_path, monkeypatch):
    remote, src = _remote(tmp_path)
    src.write_bytes(b"tampered bytes!")
    monkeypatch.setenv("ADLIB_DATA", str(src.parent))
    with pytest.raises(ChecksumError, match="not the canonical file.*sha256"):
        datasets.fetch(remote)


def test_fetch_offline_error_names_file_url_checksum_and_env_var(tmp_path, monkeypatch):
    remote, _ = _remote(tmp_path)
    monkeypatch.delenv("ADLIB_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError) as err:
        datasets.fetch(remote)
    message = str(err.value)
    for part in (remote.name, remote.origin, remote.sha256, "ADLIB_DATA"):
        assert part in message


def test_fetch_never_writes_into_the_mirror(tmp_path, monkeypatch):
    remote, src = _remote(tmp_path)
    monkeypatch.setenv("ADLIB_DATA", str(src.parent))
    before = sorted(os.listdir(src.parent))
    datasets.fetch(remote)
    assert sorted(os.listdir(src.parent)) == before


def _fake_cifar_archive(tmp_path):
    """A tiny archive with the canonical layout, so the archive path can be tested offline."""
    rng = np.random.default_rng(0)
    members, md5 = {}, {}
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        batch = {b"data": rng.integers(0, 256, size=(4, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, size=4))}
        members[name] = pickle.dumps(batch, protocol=2)
    members["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in datasets.CIFAR10_CLASSES]})
    for name, blob in members.items():
        md5[name] = hashlib.md5(blob).hexdigest()
    archive = tmp_path / "origin" / "cifar-10-python.tar.gz"
    archive.parent.mkdir(exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return RemoteFile(archive.name, UNREACHABLE, digest, archive.stat().st_size), md5, members


def test_cifar_archive_is_verified_and_extracted_to_the_cache(tmp_path, monkeypatch, capsys):
    remote, md5, members = _fake_cifar_archive(tmp_path)
    monkeypatch.setattr(datasets, "CIFAR10_ARCHIVE", remote)
    monkeypatch.setattr(datasets, "CIFAR10_MD5", md5)
    monkeypatch.delenv("ADLIB_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10(data_dir=tmp_path / "origin")
    assert "Extracting cifar-10-python.tar.gz" in capsys.readouterr().out  # with a progress bar
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    first = pickle.loads(members["data_batch_1"])
    assert np.array_equal(x_train[0, :, :, 0].ravel(), first[b"data"][0, :1024])  # red plane, row-major
    assert (datasets.cache_dir() / "cifar-10-batches-py" / "test_batch").is_file()
    shutil.rmtree(datasets.cache_dir() / "cifar-10-batches-py")
    datasets.load_cifar10(data_dir=tmp_path / "origin", verbose=0)
    assert capsys.readouterr().out == ""


@requires_mirror()
def test_load_mnist_from_the_mirror():
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and set(np.unique(y_test)) == set(range(10))


@requires_mirror()
def test_load_cifar10_from_the_extracted_mirror_folder():
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10()
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert hashlib.sha256(x_test.tobytes()).hexdigest().startswith("f9b1e2130bab680d")


@requires_mirror()
def test_load_cifar10_rejects_a_corrupted_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in datasets.CIFAR10_MD5:
        (folder / name).symlink_to(os.path.join(os.environ["ADLIB_DATA"], "cifar-10-batches-py", name))
    (folder / "batches.meta").unlink()
    (folder / "batches.meta").write_bytes(b"not the real meta file")
    with pytest.raises(ChecksumError, match="batches.meta"):
        datasets.load_cifar10(data_dir=tmp_path)


@pytest.fixture(scope="module")
def kdd():
    if not os.environ.get("ADLIB_DATA"):
        pytest.skip("ADLIB_DATA (the dataset mirror) is not set")
    return datasets.load_kddcup99()


def test_kddcup99_has_41_columns_and_attack_categories(kdd):
    assert kdd.shape == (494021, 43)
    assert list(kdd.columns[:41]) == list(datasets.KDD_COLUMNS)
    counts = kdd["attack_category"].value_counts().to_dict()
    assert counts == {"dos": 391458, "normal": 97278, "probe": 4107, "r2l": 1126, "u2r": 52}


def test_kdd_alibi_protocol_trains_on_normal_traffic_only(kdd):
    split = datasets.kdd_alibi(kdd, seed=3)
    assert split.x_train.shape[1] == 18 and split.feature_names == list(datasets.KDD_ALIBI_FEATURES)
    assert len(split.x_train) + int((split.y_test == 0).sum()) == 97278
    assert int(split.y_test.sum()) == 494021 - 97278
    scaled = datasets.standardize(split)
    assert np.allclose(scaled.x_train.mean(axis=0), 0, atol=1e-3)


def test_kdd_dagmm_protocol_makes_normal_traffic_the_anomaly(kdd):
    split = datasets.kdd_dagmm(kdd, seed=0)
    assert 0.18 < split.y_test.mean() < 0.21  # `normal.` is about 20% of the 10% file
    assert len(split.x_test) == 494021 - 494021 // 2
    assert split.x_train.min() >= 0 and split.x_train.max() <= 1
    assert split.x_train.shape[1] == split.x_test.shape[1] > 41  # one-hot categoricals
    raw = datasets.kdd_dagmm(kdd, seed=0, scale=False)  # as the Efficient GAN authors' code feeds it
    assert np.array_equal(raw.y_test, split.y_test) and raw.x_train.max() > 1e6 and "raw" in raw.protocol


def _labels():
    y_train = np.repeat(np.arange(10), 20)
    y_test = np.repeat(np.arange(10), 5)
    return (y_train.astype(float)[:, None], y_train), (y_test.astype(float)[:, None], y_test)


def test_one_class_split_normal_protocol():
    split = datasets.one_class_split(*_labels(), normal=[3])
    assert np.all(split.x_train[:, 0] == 3) and len(split.x_train) == 20
    assert len(split.x_test) == 50 and split.y_test.sum() == 45
    assert np.array_equal(split.y_test, (split.x_test[:, 0] != 3).astype(int))


def test_one_class_split_anomalous_protocol():
    split = datasets.one_class_split(*_labels(), anomalous=[2], test_fraction=0.2, seed=0)
    assert not np.any(split.x_train[:, 0] == 2)
    assert len(split.x_train) == 180 and int(split.y_test.sum()) == 25  # every image of class 2
    assert int((split.y_test == 0).sum()) == 45
    assert np.array_equal(split.y_test, (split.x_test[:, 0] == 2).astype(int))


def test_one_class_split_needs_exactly_one_protocol():
    with pytest.raises(ValueError, match="exactly one"):
        datasets.one_class_split(*_labels())
    with pytest.raises(ValueError, match="exactly one"):
        datasets.one_class_split(*_labels(), normal=[1], anomalous=[2])


def test_outlier_batch_has_the_requested_outlier_percentage():
    x = np.arange(1000)[:, None]
    y = (np.arange(1000) < 300).astype(int)
    xb, yb = datasets.outlier_batch(x, y, n_samples=200, perc_outlier=10, seed=1)
    assert len(xb) == 200 and yb.sum() == 20
    assert np.array_equal(yb, (xb[:, 0] < 300).astype(int))
    assert len(np.unique(xb)) == 200
    with pytest.raises(ValueError, match="only 700 and 300"):
        datasets.outlier_batch(x, y, n_samples=1000, perc_outlier=50)


def test_apply_mask_adds_noise_only_inside_each_patch():
    x = np.zeros((3, 12, 12, 2), dtype=np.float32)
    masked, masks = datasets.apply_mask(x, (4, 5), n_masks=2, seed=0)
    assert masked.shape == masks.shape == (6, 12, 12, 2)
    changed = (masks != 0).any(axis=-1)
    assert np.all(changed.sum(axis=(1, 2)) <= 20) and np.all(changed.sum(axis=(1, 2)) > 10)
    rows, cols = np.nonzero(changed[0])
    assert rows.max() - rows.min() < 4 and cols.max() - cols.min() < 5
    assert masked.min() >= 0 and masked.max() <= 1
    with pytest.raises(ValueError, match="must fit"):
        datasets.apply_mask(x, (13, 2))


def test_prepare_images_scales_adds_channel_and_pads():
    x = np.full((2, 28, 28), 255, dtype=np.uint8)
    out = datasets.prepare_images(x, size=32)
    assert out.shape == (2, 32, 32, 1) and out.dtype == np.float32
    assert out.max() == 1.0 and out[:, :2].max() == 0.0


def test_kdd_parser_rejects_an_unknown_label(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(",".join(["0"] * 41) + ",martian.\n")
    with pytest.raises(ValueError, match="martian"):
        datasets._parse_kdd(str(path))


def test_kdd_splits_record_the_source_row_of_each_test_sample(kdd):
    split = datasets.kdd_alibi(kdd, seed=0)
    labels = kdd["label"].to_numpy()[split.test_index]
    assert np.array_equal(split.y_test, (labels != "normal").astype(int))
    dagmm = datasets.kdd_dagmm(kdd, seed=0)
    assert np.array_equal(dagmm.y_test, (kdd["label"].to_numpy()[dagmm.test_index] == "normal").astype(int))


def test_contrast_normalize_fits_its_scaling_on_the_training_images_only():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    train, test = datasets.contrast_normalize(x_train, x_test)
    assert train.shape == x_train.shape and test.shape == x_test.shape and train.dtype == np.float32
    assert train.min() == pytest.approx(0.0) and train.max() == pytest.approx(1.0)
    # the same image gets the same values, whichever set it comes in: the scaling is fixed by x_train
    again, same = datasets.contrast_normalize(x_train, x_train[:3])
    np.testing.assert_allclose(same, train[:3], rtol=1e-6)
    # contrast normalisation removes brightness and contrast: a brighter, stronger copy maps the same
    brighter = np.clip(x_test.astype(np.float32) * 0.5 + 60, 0, 255) / 255.0
    _, a, b = datasets.contrast_normalize(x_train, x_test.astype(np.float32) / 255.0, brighter)
    np.testing.assert_allclose(a, b, atol=1e-5)
