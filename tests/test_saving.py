"""Saving never destroys data: atomic saves, refusal of foreign folders, integrity checks on load,
and fault injection (an exception in each family's state writer, a save killed with SIGKILL)."""
import errno
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import adlib
from adlib.persistence import content_checksum, manifest_of
from tests.conftest import blobs_and_rings, manifold

REPO = Path(__file__).resolve().parents[1]

# One detector per family whose state writer differs or whose networks differ; tiny and fast.
FAMILIES = {
    "AE": lambda: adlib.AE(latent_dim=3, hidden=(16,), seed=0),
    "VAE": lambda: adlib.VAE(latent_dim=2, hidden=(16,), seed=0),
    "AEGMM": lambda: adlib.AEGMM(seed=0),
    "GANomaly": lambda: adlib.GANomaly(latent_dim=8, base_filters=4, seed=0),
    "DeepSVDD": lambda: adlib.DeepSVDD(rep_dim=4, pretrain_steps=10, seed=0),
    "HotellingT2": lambda: adlib.HotellingT2(),
}
IMAGES = {"GANomaly"}


def family_data(name: str) -> np.ndarray:
    return blobs_and_rings(n_train=64, n_test=8)[0] if name in IMAGES else manifold(n_train=200)[0]


@functools.cache
def fitted(name: str):
    adlib.seed_everything(0)
    x = family_data(name)
    detector = FAMILIES[name]().fit(x, epochs=1, batch_size=32, verbose=0)
    detector.infer_threshold(x, percentile=90)
    return detector, x[:16]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if ".adlib-" in p.name)


# ----------------------------------------------------------------- never delete a user's files
def test_saving_into_a_folder_with_a_foreign_file_refuses_and_keeps_it(tmp_path):
    detector, _ = fitted("HotellingT2")
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "thesis.tex").write_text("six years of work")
    with pytest.raises(FileExistsError, match="thesis.tex"):
        detector.save(folder)
    assert (folder / "thesis.tex").read_text() == "six years of work"
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]
    assert leftovers(folder) == []


def test_saving_over_a_file_or_into_an_adlib_save_holding_foreign_files_refuses(tmp_path):
    detector, _ = fitted("HotellingT2")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="is a file"):
        detector.save(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"
    path = detector.save(tmp_path / "det")
    (path / "extra.csv").write_text("1,2,3")
    with pytest.raises(FileExistsError, match="extra.csv"):
        detector.save(path)
    assert (path / "extra.csv").read_text() == "1,2,3"


def test_an_earlier_save_or_an_empty_folder_is_overwritten_and_no_temporary_folder_stays(tmp_path):
    detector, x = fitted("HotellingT2")
    (tmp_path / "empty").mkdir()
    detector.save(tmp_path / "empty")
    path = detector.save(tmp_path / "det")
    detector.threshold_ = 123.0
    assert detector.save(path) == path
    assert adlib.load_detector(path).threshold_ == 123.0
    assert leftovers(path) == []
    assert sorted(p.name for p in path.iterdir()) == ["detector.json", "train.npz"]


# ----------------------------------------------------------------- a failing save keeps the earlier one
@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("when", ["before writing", "half written"])
def test_a_failing_state_writer_leaves_the_earlier_save_loadable_with_identical_scores(name, when, tmp_path,
                                                                                      monkeypatch):
    detector, x = fitted(name)
    path = detector.save(tmp_path / name)
    before = adlib.load_detector(path).score(x)
    write_state = detector._save_state

    def failing_writer(folder):
        if when == "half written":
            write_state(folder)
            for file in folder.iterdir():  # every file cut in half, as by a full disk
                file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(detector, "_save_state", failing_writer)
    with pytest.raises(OSError, match="No space"):
        detector.save(path)
    assert leftovers(path) == []
    np.testing.assert_array_equal(adlib.load_detector(path).score(x), before)


def test_an_interrupted_save_keyboard_interrupt_leaves_nothing_when_there_was_nothing(tmp_path, monkeypatch):
    detector, _ = fitted("AE")

    def interrupted(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(detector, "_save_state", interrupted)
    with pytest.raises(KeyboardInterrupt):
        detector.save(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import adlib, adlib.persistence as persistence
    path, stage = sys.argv[1], sys.argv[2]
    detector = adlib.load_detector(path)
    detector.threshold_ = -1.0  # the new save would differ from the earlier one
    write_state = detector._save_state

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if stage == "writing":
        def writer(folder):
            write_state(folder)
            die()
        detector._save_state = writer
    else:  # killed after the swap, before the earlier save (now in the temporary folder) is deleted
        exchange = persistence._exchange
        persistence._exchange = lambda a, b: (exchange(a, b), die())
    detector.save(path)
""")


@pytest.mark.parametrize("stage", ["writing", "after swap"])
def test_a_save_killed_with_sigkill_leaves_a_loadable_save(stage, tmp_path):
    detector, x = fitted("AE")
    path = detector.save(tmp_path / "ae")
    before = adlib.load_detector(path).score(x)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path), stage], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert leftovers(path), "the killed process should have left its temporary folder"
    loaded = adlib.load_detector(path)
    np.testing.assert_array_equal(loaded.score(x), before)
    # before the swap the earlier save is intact; after it, the new one is complete
    assert loaded.threshold_ == (detector.threshold_ if stage == "writing" else -1.0)
    assert leftovers(path), "loading only reads: it deletes nothing"
    loaded.save(path)
    assert leftovers(path) == [], "the next save tidies up the dead process's temporary folder"


# ----------------------------------------------------------------- integrity on load
def every_saved_file(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["AE", "HotellingT2"])
def test_truncating_changing_or_deleting_any_file_names_that_file(name, tmp_path):
    detector, _ = fitted(name)
    for i, file in enumerate(every_saved_file(detector.save(tmp_path / "ref"))):
        for damage in ("truncate", "flip", "delete"):
            path = detector.save(tmp_path / f"{damage}{i}")
            target = path / file
            data = target.read_bytes()
            if damage == "truncate":
                target.write_bytes(data[: len(data) // 2])
            elif damage == "flip":
                target.write_bytes(data[:-1] + bytes([data[-1] ^ 0x01]))
            else:
                target.unlink()
            expected = FileNotFoundError if (damage == "delete" and file == "detector.json") else ValueError
            with pytest.raises(expected, match=file.replace(".", r"\.")):
                adlib.load_detector(path)


def test_a_save_whose_detector_json_is_unreadable_is_not_overwritten(tmp_path):
    detector, _ = fitted("HotellingT2")
    path = detector.save(tmp_path / "det")
    (path / "detector.json").write_text("{damaged")
    with pytest.raises(FileExistsError, match="not a readable adlib"):
        detector.save(path)
    assert sorted(p.name for p in path.iterdir()) == ["detector.json", "train.npz"]


def test_an_edited_threshold_in_detector_json_is_detected(tmp_path):
    detector, _ = fitted("AE")
    path = detector.save(tmp_path / "ae")
    meta = json.loads((path / "detector.json").read_text())
    meta["threshold"] = 0.0
    (path / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="detector.json has changed"):
        adlib.load_detector(path)


def test_a_keras_file_that_carries_code_is_refused_by_safe_mode(tmp_path):
    detector, x = fitted("AE")
    path = detector.save(tmp_path / "ae")
    inputs = keras.Input((x.shape[1],))
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(path / "model.keras")
    meta = json.loads((path / "detector.json").read_text())  # an attacker rewrites the manifest too
    meta["files"] = {k: v for k, v in manifest_of(path).items() if k != "detector.json"}
    meta["checksum"] = content_checksum(meta)
    (path / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="(?i)lambda|safe"):
        adlib.load_detector(path)
