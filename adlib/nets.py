"""Default network builders, sized from the data: dense for tables, convolutional for images."""
from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers


def dense_encoder(input_dim: int, hidden: Sequence[int], latent_dim: int | None, *,
                  activation: str = "relu", name: str = "encoder") -> keras.Model:
    """MLP ``input_dim -> hidden... -> latent_dim`` (linear code layer).

    With ``latent_dim=None`` the network ends at the last hidden layer, for models (VAEs) that
    put their own heads on top.
    """
    x_in = keras.Input((input_dim,), name="x")
    h = x_in
    for units in hidden:
        h = layers.Dense(units, activation=activation)(h)
    out = h if latent_dim is None else layers.Dense(latent_dim, name="code")(h)
    return keras.Model(x_in, out, name=name)


def dense_decoder(latent_dim: int, hidden: Sequence[int], output_dim: int, *, activation: str = "relu",
                  output_activation: str | None = None, name: str = "decoder") -> keras.Model:
    """MLP ``latent_dim -> hidden... -> output_dim``; pass ``hidden`` in decoding order."""
    z_in = keras.Input((latent_dim,), name="z")
    h = z_in
    for units in hidden:
        h = layers.Dense(units, activation=activation)(h)
    return keras.Model(z_in, layers.Dense(output_dim, activation=output_activation, name="x_hat")(h), name=name)


def conv_encoder(input_shape: Sequence[int], filters: Sequence[int], latent_dim: int | None, *,
                 name: str = "encoder") -> keras.Model:
    """Strided 4x4 convolutions (each halves height and width) with LeakyReLU, then a dense code
    (or, with ``latent_dim=None``, the flattened feature map)."""
    x_in = keras.Input(tuple(input_shape), name="x")
    h = x_in
    for f in filters:
        h = layers.Conv2D(f, 4, strides=2, padding="same")(h)
        h = layers.LeakyReLU(0.2)(h)
    h = layers.Flatten()(h)
    out = h if latent_dim is None else layers.Dense(latent_dim, name="code")(h)
    return keras.Model(x_in, out, name=name)


def conv_decoder(latent_dim: int, output_shape: Sequence[int], filters: Sequence[int], *,
                 output_activation: str | None = "sigmoid", name: str = "decoder") -> keras.Model:
    """Mirror of :func:`conv_encoder`: dense, then transposed convolutions that double the size.

    ``filters`` is in decoding order (e.g. ``(128, 64, 32)``). Sizes that are not a power of two
    (MNIST's 28) are reached by cropping the last feature map.
    """
    h_out, w_out, channels = output_shape
    n_up = len(filters)
    h0, w0 = math.ceil(h_out / 2 ** n_up), math.ceil(w_out / 2 ** n_up)
    z_in = keras.Input((latent_dim,), name="z")
    h = layers.Dense(h0 * w0 * filters[0], activation="relu")(z_in)
    h = layers.Reshape((h0, w0, filters[0]))(h)
    for f in filters:
        h = layers.Conv2DTranspose(f, 4, strides=2, padding="same")(h)
        h = layers.LeakyReLU(0.2)(h)
    extra_h, extra_w = h0 * 2 ** n_up - h_out, w0 * 2 ** n_up - w_out
    if extra_h or extra_w:
        h = layers.Cropping2D(((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2)))(h)
    x_hat = layers.Conv2D(channels, 3, padding="same", activation=output_activation, name="x_hat")(h)
    return keras.Model(z_in, x_hat, name=name)


def default_autoencoder(x, *, latent_dim: int, hidden: Sequence[int], filters: Sequence[int],
                        activation: str = "relu", encoder_code: bool = True) -> tuple[keras.Model, keras.Model]:
    """Encoder and decoder sized from a batch ``x``: dense for tables (n, d), convolutional for images.

    Image decoders end in a sigmoid when ``x`` lies in [0, 1], otherwise outputs are linear.
    ``encoder_code=False`` leaves the code layer off the encoder (for variational heads).
    """
    code = latent_dim if encoder_code else None
    if x.ndim == 2:
        d = x.shape[1]
        return (dense_encoder(d, hidden, code, activation=activation),
                dense_decoder(latent_dim, tuple(hidden)[::-1], d, activation=activation))
    if x.ndim == 4:
        in_unit_range = bool(x.min() >= 0 and x.max() <= 1)
        return (conv_encoder(x.shape[1:], filters, code),
                conv_decoder(latent_dim, x.shape[1:], tuple(filters)[::-1],
                             output_activation="sigmoid" if in_unit_range else None))
    raise ValueError(f"default networks exist for tables (n, d) and images (n, h, w, c); got shape {x.shape}. "
                     "Add a channel axis to grey images (x[..., None]) or pass encoder= and decoder=.")
