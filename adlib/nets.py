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


# ---------------------------------------------------------------------------- GAN networks
def _dcgan_depth(side: int) -> int:
    """Number of stride-2 stages that take a square image of ``side`` pixels down to 4x4."""
    depth = int(round(math.log2(side))) - 2
    if side < 8 or 2 ** (depth + 2) != side:
        raise ValueError(f"DCGAN networks need square images whose side is a power of two >= 8; got {side}. "
                         "Pad MNIST's 28x28 to 32x32 with datasets.prepare_images(x, size=32).")
    return depth


def dcgan_encoder(input_shape: Sequence[int], out_dim: int, *, base_filters: int = 32, batchnorm: bool = True,
                  out_activation: str | None = None, use_bias: bool = True, name: str = "encoder") -> keras.Model:
    """DCGAN encoder: stride-2 4x4 convolutions (BatchNorm after the first, LeakyReLU 0.2) down to
    4x4, then a 4x4 'valid' convolution to ``out_dim`` numbers (Radford et al., 2016)."""
    height, width = input_shape[:2]
    if height != width:
        raise ValueError(f"DCGAN networks need square images; got {height}x{width}")
    x_in = keras.Input(tuple(input_shape), name="x")
    h = x_in
    for i in range(_dcgan_depth(height)):
        h = layers.Conv2D(base_filters * 2 ** i, 4, strides=2, padding="same", use_bias=use_bias)(h)
        if batchnorm and i > 0:
            h = layers.BatchNormalization(center=use_bias, scale=use_bias)(h)
        h = layers.LeakyReLU(0.2)(h)
    h = layers.Conv2D(out_dim, 4, padding="valid", use_bias=use_bias)(h)
    out = layers.Flatten(name="code")(h)
    if out_activation:
        out = layers.Activation(out_activation)(out)
    return keras.Model(x_in, out, name=name)


def dcgan_decoder(latent_dim: int, output_shape: Sequence[int], *, base_filters: int = 32,
                  output_activation: str | None = "sigmoid", name: str = "decoder") -> keras.Model:
    """DCGAN generator: a 4x4 transposed convolution from the code, then stride-2 transposed
    convolutions (BatchNorm, ReLU) doubling the size up to ``output_shape``."""
    side, _, channels = output_shape
    depth = _dcgan_depth(side)
    z_in = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((1, 1, latent_dim))(z_in)
    h = layers.Conv2DTranspose(base_filters * 2 ** (depth - 1), 4, padding="valid")(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    for i in reversed(range(depth - 1)):
        h = layers.Conv2DTranspose(base_filters * 2 ** i, 4, strides=2, padding="same")(h)
        h = layers.ReLU()(layers.BatchNormalization()(h))
    x_hat = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation=output_activation,
                                   name="x_hat")(h)
    return keras.Model(z_in, x_hat, name=name)


def dcgan_discriminator(input_shape: Sequence[int], *, base_filters: int = 32, batchnorm: bool = True,
                        name: str = "discriminator") -> keras.Model:
    """DCGAN discriminator with two outputs, ``[logit, features]``: the features (last hidden layer,
    flattened) drive feature-matching losses and scores."""
    trunk = dcgan_encoder(input_shape, 1, base_filters=base_filters, batchnorm=batchnorm, name=f"{name}_trunk")
    features = layers.Flatten(name="features")(trunk.layers[-3].output)
    return keras.Model(trunk.input, [trunk.output, features], name=name)


def mlp_discriminator(input_dim: int, hidden: Sequence[int], *, dropout: float = 0.2,
                      name: str = "discriminator") -> keras.Model:
    """Dense discriminator for tables, outputs ``[logit, features]`` like :func:`dcgan_discriminator`."""
    x_in = keras.Input((input_dim,), name="x")
    h = x_in
    for units in hidden:
        h = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(units)(h)))
    return keras.Model(x_in, [layers.Dense(1, name="logit")(h), h], name=name)


def gan_networks(x, *, latent_dim: int, hidden: Sequence[int] = (128, 64), base_filters: int = 32,
                 encoder_activation: str | None = None):
    """Encoder, generator and discriminator sized from a batch ``x``: DCGAN networks for square
    images (n, s, s, c), MLPs for tables (n, d). Image generators end in a sigmoid when ``x`` lies
    in [0, 1]."""
    if x.ndim == 4:
        out_act = "sigmoid" if x.min() >= 0 and x.max() <= 1 else None
        shape = x.shape[1:]
        return (dcgan_encoder(shape, latent_dim, base_filters=base_filters, out_activation=encoder_activation),
                dcgan_decoder(latent_dim, shape, base_filters=base_filters, output_activation=out_act,
                              name="generator"),
                dcgan_discriminator(shape, base_filters=base_filters))
    if x.ndim == 2:
        d = x.shape[1]
        encoder = dense_encoder(d, hidden, latent_dim, activation="relu")
        if encoder_activation:
            encoder = keras.Model(encoder.input, layers.Activation(encoder_activation)(encoder.output),
                                  name="encoder")
        return (encoder, dense_decoder(latent_dim, tuple(hidden)[::-1], d, name="generator"),
                mlp_discriminator(d, hidden))
    raise ValueError(f"GAN networks exist for tables (n, d) and square images (n, s, s, c); got shape {x.shape}. "
                     "Add a channel axis to grey images (x[..., None]).")


def joint_discriminator(input_shape: Sequence[int], latent_dim: int, *, base_filters: int = 32,
                        hidden: Sequence[int] = (128, 64), joint_units: int = 512, dropout: float = 0.2,
                        name: str = "joint_discriminator") -> keras.Model:
    """BiGAN discriminator on pairs ``(x, z)``: an x-branch (DCGAN trunk for images, MLP for
    tables) and a z-branch joined by a dense layer; outputs ``[logit, features]``."""
    x_in, z_in = keras.Input(tuple(input_shape), name="x"), keras.Input((latent_dim,), name="z")
    if len(input_shape) == 3:
        trunk = dcgan_encoder(input_shape, 1, base_filters=base_filters, name="x_branch")
        hx = layers.Flatten()(keras.Model(trunk.input, trunk.layers[-3].output)(x_in))
    else:
        hx = x_in
        for units in hidden:
            hx = layers.LeakyReLU(0.2)(layers.Dense(units)(hx))
    hz = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(joint_units // 2)(z_in)))
    h = layers.Concatenate()([hx, hz])
    features = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(joint_units, name="features")(h)))
    return keras.Model([x_in, z_in], [layers.Dense(1, name="logit")(features), features], name=name)
