"""The adversarial detectors take a user's own networks (``encoder=``, ``generator=``/``decoder=``,
``discriminator=``), as the autoencoders do: they are trained and saved, they set the code size, and a
network that does not fit the data is refused at ``fit`` with what it must map."""
import keras
import numpy as np
import pytest
from keras import layers

import adlib

pytestmark = pytest.mark.filterwarnings("ignore::adlib.CollapseWarning")  # a few steps do not train a decoder

D, K = 6, 3  # table columns; the user's code size (not any detector's default latent_dim)
GREY = (16, 16, 1)


def table(n: int = 400, seed: int = 0) -> np.ndarray:
    """Rows near a 2-D plane in R^6."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) @ rng.normal(size=(2, D)) + 0.1 * rng.normal(size=(n, D))).astype("float32")


def images(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, size=(n, *GREY)).astype("float32")


def encoder(item=(D,), k=K, activation=None, name="my_encoder"):
    return keras.Sequential([keras.Input(item), layers.Flatten(), layers.Dense(8, activation="relu"),
                             layers.Dense(k, activation=activation)], name=name)


def generator(item=(D,), k=K, name="my_generator"):
    size, activation = int(np.prod(item)), "sigmoid" if len(item) == 3 else None
    return keras.Sequential([keras.Input((k,)), layers.Dense(8, activation="relu"),
                             layers.Dense(size, activation=activation), layers.Reshape(item)], name=name)


def discriminator(item=(D,), name="my_discriminator"):
    x_in = keras.Input(item)
    features = layers.Dense(8, activation="relu", name="my_features")(layers.Flatten()(x_in))
    return keras.Model(x_in, [layers.Dense(1)(features), features], name=name)


def joint_discriminator(item=(D,), k=K, name="my_joint_discriminator"):
    x_in, z_in = keras.Input(item), keras.Input((k,))
    features = layers.Dense(8, activation="relu")(layers.Concatenate()([layers.Flatten()(x_in), z_in]))
    return keras.Model([x_in, z_in], [layers.Dense(1)(features), features], name=name)


def user_networks(name: str, item=(D,)) -> dict:
    """The networks ``name`` takes, built for samples of shape ``item`` and codes of size K."""
    gen = "decoder" if name in ("GANomaly", "ALOCC", "OCGAN") else "generator"
    nets = {gen: generator(item, name=f"my_{gen}"),
            "discriminator": joint_discriminator(item) if name == "EfficientGAN" else discriminator(item)}
    if name not in ("AnoGAN", "ADGAN"):
        nets["encoder"] = encoder(item, activation="tanh" if name == "OCGAN" else None)
    return nets


HELD_AS = {("FAnoGAN", "discriminator"): "critic", ("OCGAN", "discriminator"): "visual_discriminator"}
SMALL = {"ADGAN": dict(n_seeds=2, search_steps=3), "AnoGAN": dict(n_seeds=2, search_steps=3)}
GANS = ["GANomaly", "ALOCC", "EfficientGAN", "FAnoGAN", "AnoGAN", "ADGAN", "OCGAN"]


@pytest.mark.parametrize("name", GANS)
def test_user_networks_are_the_ones_trained_and_set_the_code_size(name):
    item = GREY if name == "OCGAN" else (D,)
    x = images() if name == "OCGAN" else table()
    nets = user_networks(name, item)
    before = {role: [w.copy() for w in net.get_weights()] for role, net in nets.items()}
    det = getattr(adlib, name)(seed=0, **SMALL.get(name, {}), **nets).fit(x, steps=3, verbose=0)
    model = det.model_
    for role, net in nets.items():
        held = getattr(model, HELD_AS.get((name, role), role))
        assert held is net, role
        assert any(not np.array_equal(a, b) for a, b in zip(before[role], net.get_weights())), f"{role} was not trained"
    assert det.code_size(x) == K  # the user's code size, not latent_dim's default
    assert np.isfinite(det.score(x[:8], verbose=0)).all()


@pytest.mark.parametrize("name", ["GANomaly", "EfficientGAN"])
def test_user_networks_are_saved_and_loaded(name, tmp_path):
    x = table()
    det = getattr(adlib, name)(seed=0, **user_networks(name)).fit(x, steps=3, verbose=0)
    loaded = adlib.load_detector(det.save(tmp_path / name))
    assert loaded.model_.discriminator.name == det.model_.discriminator.name
    np.testing.assert_array_equal(loaded.score(x), det.score(x))


def test_default_networks_beside_a_user_network_take_its_code_size():
    det = adlib.GANomaly(seed=0, decoder=generator(k=5)).fit(table(), steps=2, verbose=0)
    assert det.model_.encoder.output_shape[-1] == 5 and det.model_.decoder.name == "my_generator"


@pytest.mark.parametrize("nets, message", [
    (dict(decoder=generator(k=K, item=(D + 1,))), r"decoder must map codes of size 3 to rows of shape \(6,\); "
                                                  r"it returns 1 output\(s\) of shape \(7,\)"),
    (dict(encoder=encoder(k=4), decoder=generator(k=K)), r"encoder must map rows of shape \(6,\) to codes of size 3"),
    (dict(discriminator=keras.Sequential([keras.Input((D,)), layers.Dense(1)])),
     r"discriminator must map rows of shape \(6,\) to \[logit of shape \(1,\), features\]; it returns 1 output"),
    (dict(encoder=encoder(item=(D + 2,))), r"encoder must map rows of shape \(6,\) .* it fails on such inputs"),
])
def test_networks_that_do_not_fit_the_data_are_refused_at_fit(nets, message):
    with pytest.raises(ValueError, match=message):
        adlib.GANomaly(seed=0, **nets).fit(table(), steps=1, verbose=0)


def test_a_network_that_is_not_a_keras_model_is_refused():
    with pytest.raises(TypeError, match="generator must be a keras.Model"):
        adlib.AnoGAN(generator=lambda z: z).fit(table(), steps=1, verbose=0)


def test_adgan_refuses_at_fit_a_generator_its_search_cannot_copy_per_input():
    chain = keras.Sequential([keras.Input((K,)), layers.Dense(8), layers.Dropout(0.1), layers.Dense(D)])
    with pytest.raises(TypeError, match="Dropout layer .* has no per-copy form"):
        adlib.ADGAN(generator=chain).fit(table(), steps=1, verbose=0)


def test_efficientgan_needs_a_discriminator_of_pairs():
    with pytest.raises(ValueError, match=r"discriminator must map pairs \[rows of shape \(6,\), codes of size 100\]"):
        adlib.EfficientGAN(latent_dim=100, discriminator=discriminator()).fit(table(), steps=1, verbose=0)


def test_ocgan_refuses_an_encoder_whose_codes_leave_minus_one_to_one():
    with pytest.raises(ValueError, match=r"codes in \[-1, 1\] \(end it in tanh\)"):
        unbounded = keras.Sequential([keras.Input(GREY), layers.Flatten(), layers.Dense(K, kernel_initializer="ones")])
        adlib.OCGAN(seed=0, encoder=unbounded, decoder=generator(GREY)).fit(images(), steps=1, verbose=0)
