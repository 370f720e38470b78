import pytest

from adlib import profiles

SETTINGS = dict(smoke=dict(epochs=1), book=dict(epochs=10), full=dict(epochs=100))


def test_default_profile_is_book(monkeypatch):
    monkeypatch.delenv("ADLIB_PROFILE", raising=False)
    assert profiles.current() == "book"
    assert profiles.choose(**SETTINGS) == {"epochs": 10, "profile": "book"}


@pytest.mark.parametrize("name,epochs", [("smoke", 1), ("book", 10), ("full", 100), (" SMOKE ", 1)])
def test_environment_selects_profile(monkeypatch, name, epochs):
    monkeypatch.setenv("ADLIB_PROFILE", name)
    assert profiles.choose(**SETTINGS)["epochs"] == epochs


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ADLIB_PROFILE", "huge")
    with pytest.raises(ValueError, match="not a known profile.*smoke, book, full"):
        profiles.choose(**SETTINGS)


def test_profiles_must_define_the_same_settings():
    with pytest.raises(ValueError, match="missing.*smoke.*lr"):
        profiles.choose(smoke=dict(epochs=1), book=dict(epochs=2, lr=1), full=dict(epochs=3, lr=1))


def test_choose_returns_a_copy(monkeypatch):
    monkeypatch.setenv("ADLIB_PROFILE", "book")
    book = dict(digits=[1, 2])
    cfg = profiles.choose(smoke=dict(digits=[1]), book=book, full=dict(digits=[0]))
    cfg["digits"].append(3)
    assert book["digits"] == [1, 2]
