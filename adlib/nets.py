"""Default network builders, sized from the data: dense for tables, one DCGAN backbone for images of any size."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
from keras import layers, ops


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


def default_autoencoder(x, *, latent_dim: int, hidden: Sequence[int], base_filters: int = 32,
                        activation: str = "relu", encoder_code: bool = True) -> tuple[keras.Model, keras.Model]:
    """Encoder and decoder sized from a batch ``x``: dense for tables (n, d), the DCGAN backbone for
    images (n, h, w, c) of any size.

    Image decoders end in a sigmoid when ``x`` lies in [0, 1], otherwise outputs are linear.
    ``encoder_code=False`` leaves the code layer off the encoder (for variational heads).
    """
    code = latent_dim if encoder_code else None
    if x.ndim == 2:
        d = x.shape[1]
        return (dense_encoder(d, hidden, code, activation=activation),
                dense_decoder(latent_dim, tuple(hidden)[::-1], d, activation=activation))
    if x.ndim == 4:
        return (dcgan_encoder(x.shape[1:], code, base_filters=base_filters),
                dcgan_decoder(latent_dim, x.shape[1:], base_filters=base_filters,
                              output_activation=output_activation_for(x)))
    raise ValueError(f"default networks exist for tables (n, d) and images (n, h, w, c); got shape {x.shape}. "
                     "Pass encoder= and decoder= for other data.")


# ---------------------------------------------------------------------------- image backbone
MIN_SIDE, MAX_SIDE = 16, 64
MIN_FILL = 0.75  # share of the working side an input must fill to be padded rather than resized
BN_MOMENTUM = 0.9  # moving statistics that follow a network trained for a few thousand steps
NORMS = ("batch", "layer", None)  # normalisations of the DCGAN trunk


@dataclass(frozen=True)
class ImageGeometry:
    """How an ``h x w`` input is mapped to the square ``side x side`` the backbone works at, and back.

    The working size is the next power of two at or above the longer side, between :data:`MIN_SIDE`
    and :data:`MAX_SIDE`. An input that fills at least :data:`MIN_FILL` of it (28x28 in 32x32) is
    zero-padded (centred): padding keeps every pixel, and a thin constant border is trivial to
    reconstruct. A smaller one (20x20, 40x40) is resized up (bilinear) so that its longer side fills
    the working size, because a wide border leaves most of a 4x4 feature map blank and the GAN
    detectors then learn the border instead of the image. Inputs larger than :data:`MAX_SIDE` are
    resized down (with anti-aliasing): a DCGAN network's cost grows with the pixel count, and 64x64
    is the size these architectures were designed for.
    """

    height: int
    width: int
    resized: tuple[int, int]
    side: int

    @property
    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        dh, dw = self.side - self.resized[0], self.side - self.resized[1]
        return (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)

    @property
    def depth(self) -> int:
        """Stride-2 stages from ``side`` down to 4x4."""
        return int(math.log2(self.side)) - 2

    @property
    def is_identity(self) -> bool:
        return self.resized == (self.height, self.width) == (self.side, self.side)

    def describe(self) -> str:
        if self.is_identity:
            return f"{self.height}x{self.width} images used as they are"
        resize = "" if self.resized == (self.height, self.width) else f"resized to {self.resized[0]}x{self.resized[1]}, "
        return f"{self.height}x{self.width} images {resize}zero-padded to {self.side}x{self.side}"


def image_geometry(input_shape: Sequence[int]) -> ImageGeometry:
    """The one mapping from an image shape ``(h, w, c)`` to the backbone's working size (see :class:`ImageGeometry`)."""
    if len(input_shape) != 3:
        raise ValueError(f"image networks take samples of shape (h, w, c); got {tuple(input_shape)}")
    height, width = int(input_shape[0]), int(input_shape[1])
    if min(height, width) < 1:
        raise ValueError(f"images need at least one pixel; got {height}x{width}")
    longest = max(height, width)
    side = min(MAX_SIDE, max(MIN_SIDE, 2 ** math.ceil(math.log2(longest))))
    if longest > side or longest < MIN_FILL * side:
        scale = side / longest
        resized = (max(1, round(height * scale)), max(1, round(width * scale)))
        return ImageGeometry(height, width, resized, side)
    return ImageGeometry(height, width, (height, width), side)


def to_backbone(h, geometry: ImageGeometry):
    """Map input images to the backbone's square working size (resize if needed, then zero-pad)."""
    if geometry.resized != (geometry.height, geometry.width):
        antialias = geometry.resized[0] < geometry.height  # smoothing only matters when shrinking
        h = layers.Resizing(*geometry.resized, interpolation="bilinear", antialias=antialias, name="resize_in")(h)
    if geometry.resized != (geometry.side, geometry.side):
        h = layers.ZeroPadding2D(geometry.padding, name="pad_to_backbone")(h)
    return h


def from_backbone(h, geometry: ImageGeometry):
    """Inverse of :func:`to_backbone` for generated images: crop the padding, resize to the input size."""
    if geometry.resized != (geometry.side, geometry.side):
        h = layers.Cropping2D(geometry.padding, name="crop_to_input")(h)
    if geometry.resized != (geometry.height, geometry.width):
        h = layers.Resizing(geometry.height, geometry.width, interpolation="bilinear", name="resize_out")(h)
    return h


def dcgan_encoder(input_shape: Sequence[int], out_dim: int | None, *, base_filters: int = 32,
                  norm: str | None = "batch", out_activation: str | None = None, use_bias: bool = True,
                  name: str = "encoder") -> keras.Model:
    """DCGAN encoder for images of any size: the input mapped to the working size (:func:`image_geometry`),
    stride-2 4x4 convolutions (``norm`` after all but the first, LeakyReLU 0.2) down to 4x4, then a 4x4
    'valid' convolution to ``out_dim`` numbers (Radford et al., 2016). ``out_dim=None`` returns the
    flattened 4x4 feature map instead (for models that put their own heads on top). ``norm`` is
    ``"batch"``, ``"layer"`` (per sample, for critics with a gradient penalty) or ``None``."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
    geometry = image_geometry(input_shape)
    x_in = keras.Input(tuple(input_shape), name="x")
    h = to_backbone(x_in, geometry)
    for i in range(geometry.depth):
        h = layers.Conv2D(base_filters * 2 ** i, 4, strides=2, padding="same", use_bias=use_bias)(h)
        if norm == "batch" and i > 0:
            h = layers.BatchNormalization(momentum=BN_MOMENTUM, center=use_bias, scale=use_bias)(h)
        elif norm == "layer" and i > 0:
            h = layers.LayerNormalization(axis=(1, 2, 3), center=use_bias, scale=use_bias)(h)
        h = layers.LeakyReLU(0.2)(h)
    if out_dim is None:
        return keras.Model(x_in, layers.Flatten(name="features")(h), name=name)
    h = layers.Conv2D(out_dim, 4, padding="valid", use_bias=use_bias)(h)
    out = layers.Flatten(name="code")(h)
    if out_activation:
        out = layers.Activation(out_activation)(out)
    return keras.Model(x_in, out, name=name)


def dcgan_decoder(latent_dim: int, output_shape: Sequence[int], *, base_filters: int = 32,
                  output_activation: str | None = "sigmoid", name: str = "decoder") -> keras.Model:
    """DCGAN generator: a 4x4 transposed convolution from the code, then stride-2 transposed convolutions
    (BatchNorm, ReLU) doubling the size up to the working size, mapped back to ``output_shape``."""
    geometry = image_geometry(output_shape)
    channels = int(output_shape[-1])
    z_in = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((1, 1, latent_dim))(z_in)
    h = layers.Conv2DTranspose(base_filters * 2 ** (geometry.depth - 1), 4, padding="valid")(h)
    h = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(h))
    for i in reversed(range(geometry.depth - 1)):
        h = layers.Conv2DTranspose(base_filters * 2 ** i, 4, strides=2, padding="same")(h)
        h = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(h))
    h = layers.Conv2DTranspose(channels, 4, strides=2, padding="same")(h)
    h = from_backbone(h, geometry)
    x_hat = layers.Activation(output_activation or "linear", name="x_hat")(h)
    return keras.Model(z_in, x_hat, name=name)


def dcgan_discriminator(input_shape: Sequence[int], *, base_filters: int = 32, norm: str | None = "batch",
                        name: str = "discriminator") -> keras.Model:
    """DCGAN discriminator with two outputs, ``[logit, features]``: the features (last hidden layer,
    flattened) drive feature-matching losses and scores."""
    trunk = dcgan_encoder(input_shape, None, base_filters=base_filters, norm=norm, name=f"{name}_trunk")
    features = trunk.output
    logit = layers.Dense(1, name="logit")(features)
    return keras.Model(trunk.input, [logit, features], name=name)


def output_activation_for(x) -> str | None:
    """Sigmoid for data in [0, 1] (images as intensities), linear otherwise."""
    return "sigmoid" if x.min() >= 0 and x.max() <= 1 else None


def mlp_discriminator(input_dim: int, hidden: Sequence[int], *, dropout: float = 0.2,
                      name: str = "discriminator") -> keras.Model:
    """Dense discriminator for tables, outputs ``[logit, features]`` like :func:`dcgan_discriminator`."""
    x_in = keras.Input((input_dim,), name="x")
    h = x_in
    for units in hidden:
        h = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(units)(h)))
    return keras.Model(x_in, [layers.Dense(1, name="logit")(h), h], name=name)


def bounded_code(encoder: keras.Model, activation: str) -> keras.Model:
    """``encoder`` with its code squashed by ``activation`` (e.g. tanh), after a BatchNormalization
    without learned scale: the code enters the squashing function standardised, so it cannot drift
    into saturation, where every image gets the same code (measured on contrast-normalised CIFAR-10)."""
    code = layers.BatchNormalization(momentum=BN_MOMENTUM, scale=False, name="code_norm")(encoder.output)
    return keras.Model(encoder.input, layers.Activation(activation, name="bounded_code")(code), name=encoder.name)


def check_network(network: keras.Model, role: str, sample, expected: Sequence[tuple[int, ...] | None],
                  contract: str) -> None:
    """Raise a ``ValueError`` that names ``role`` and its contract when a user's ``network`` does not map
    ``sample`` (a small batch, or a list of batches for several inputs) to outputs of the ``expected``
    shapes, sample axis left out (``None``: any shape). One forward pass in inference mode.

    Parameters
    ----------
    network : keras.Model
        The user's network.
    role : str
        Its constructor argument (``"encoder"``, ``"generator"``, ...), named in the error.
    sample : array or list of arrays
        A batch of what the detector will feed it.
    expected : sequence of tuple or None
        The shape of each output without the sample axis; one entry per output.
    contract : str
        What the network must map, in words (e.g. "codes of size 16 to images of shape (28, 28, 1)").
    """
    problem = f"{role} must map {contract}"
    try:
        outputs = network(sample, training=False)
    except Exception as err:  # Keras raises several types for inputs that do not fit
        raise ValueError(f"{problem}; it fails on such inputs: {err}") from err
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    shapes = [tuple(int(n) for n in ops.shape(out)[1:]) for out in outputs]
    if len(shapes) != len(expected) or any(want is not None and got != tuple(want)
                                           for got, want in zip(shapes, expected)):
        got = shapes[0] if len(shapes) == 1 else shapes
        raise ValueError(f"{problem}; it returns {len(shapes)} output(s) of shape {got}")


def gan_networks(x, *, latent_dim: int, hidden: Sequence[int] = (128, 64), base_filters: int = 32,
                 encoder_activation: str | None = None):
    """Encoder, generator and discriminator sized from a batch ``x``: DCGAN networks for images
    (n, h, w, c) of any size, MLPs for tables (n, d). Image generators end in a sigmoid when ``x`` lies
    in [0, 1]; an ``encoder_activation`` bounds the code through :func:`bounded_code`."""
    if x.ndim == 4:
        shape = x.shape[1:]
        encoder = dcgan_encoder(shape, latent_dim, base_filters=base_filters)
        generator = dcgan_decoder(latent_dim, shape, base_filters=base_filters,
                                  output_activation=output_activation_for(x), name="generator")
        discriminator = dcgan_discriminator(shape, base_filters=base_filters)
    elif x.ndim == 2:
        d = x.shape[1]
        encoder = dense_encoder(d, hidden, latent_dim, activation="relu")
        generator = dense_decoder(latent_dim, tuple(hidden)[::-1], d, name="generator")
        discriminator = mlp_discriminator(d, hidden)
    else:
        raise ValueError(f"GAN networks exist for tables (n, d) and images (n, h, w, c); got shape {x.shape}.")
    if encoder_activation:
        encoder = bounded_code(encoder, encoder_activation)
    return encoder, generator, discriminator


def joint_discriminator(input_shape: Sequence[int], latent_dim: int, *, base_filters: int = 32,
                        hidden: Sequence[int] = (128, 64), joint_units: int = 512, dropout: float = 0.2,
                        name: str = "joint_discriminator") -> keras.Model:
    """BiGAN discriminator on pairs ``(x, z)``: an x-branch (DCGAN trunk for images, MLP for
    tables) and a z-branch joined by a dense layer; outputs ``[logit, features]``."""
    x_in, z_in = keras.Input(tuple(input_shape), name="x"), keras.Input((latent_dim,), name="z")
    if len(input_shape) == 3:
        hx = dcgan_encoder(input_shape, None, base_filters=base_filters, name="x_branch")(x_in)
    else:
        hx = x_in
        for units in hidden:
            hx = layers.LeakyReLU(0.2)(layers.Dense(units)(hx))
    hz = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(joint_units // 2)(z_in)))
    h = layers.Concatenate()([hx, hz])
    features = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(joint_units, name="features")(h)))
    return keras.Model([x_in, z_in], [layers.Dense(1, name="logit")(features), features], name=name)
