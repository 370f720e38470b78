"""A Keras network evaluated with a separate copy of its trainable weights for every sample of a batch.

ADGAN adapts a private copy of the generator for every search. Running all the copies as one batch
needs layers whose weights carry a batch axis, which Keras layers do not have, so this module
re-expresses the weighted layers adlib's generators use (``Dense``, ``Conv2DTranspose`` and
``BatchNormalization`` in inference mode) as batched matrix products over per-copy weights, and calls
every weightless layer (reshape, activation, crop, resize) as it is. The copies are plain tensors, so
the gradient of one summed loss gives each copy its own gradient.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

WEIGHTLESS = (layers.InputLayer, layers.Reshape, layers.Activation, layers.ReLU, layers.LeakyReLU,
              layers.Cropping2D, layers.ZeroPadding2D, layers.Resizing, layers.Flatten)
WEIGHTED = (layers.Dense, layers.Conv2DTranspose, layers.BatchNormalization)


class PerCopyNetwork:
    """``network`` (a chain of layers, as adlib's generators are) with one copy of its trainable
    weights per sample: ``network(weights, x)[i]`` is the original network with ``weights[*][i]``
    applied to ``x[i]``. Non-trainable weights (BatchNorm's moving statistics) are shared.

    Parameters
    ----------
    network : keras.Model
        A functional model whose layers form a single chain, each one of ``WEIGHTLESS`` or ``WEIGHTED``.
        Its weights are read, never changed.

    Raises
    ------
    TypeError
        If a layer has no batched form here, or the layers do not form a chain.
    """

    def __init__(self, network: keras.Model) -> None:
        self.network = network
        self.layers = [layer for layer in network.layers if not isinstance(layer, layers.InputLayer)]
        for layer in self.layers:
            if not isinstance(layer, WEIGHTLESS + WEIGHTED):
                raise TypeError(f"{type(layer).__name__} layer {layer.name!r} has no per-copy form; "
                                f"supported: {', '.join(cls.__name__ for cls in WEIGHTLESS + WEIGHTED)}")
            if len(layer._inbound_nodes) != 1 or len(layer._inbound_nodes[0].input_tensors) != 1:
                raise TypeError(f"per-copy networks must be a single chain of layers; {layer.name!r} is not")
        self.variables = [v for layer in self.layers for v in layer.trainable_weights]
        self.size = int(sum(np.prod(v.shape) for v in self.variables))

    def initial_weights(self, n: int) -> list:
        """``n`` copies of the network's trainable weights, each tensor of shape ``(n, *variable.shape)``."""
        return [ops.repeat(ops.expand_dims(ops.convert_to_tensor(v), 0), n, axis=0) for v in self.variables]

    def __call__(self, weights: list, x):
        """The network in inference mode on ``x`` (n, ...), sample ``i`` with copy ``i`` of ``weights``."""
        per_copy = {id(v): w for v, w in zip(self.variables, weights)}
        n = ops.shape(x)[0]

        def weight(variable):
            if id(variable) in per_copy:
                return per_copy[id(variable)]
            return ops.repeat(ops.expand_dims(ops.convert_to_tensor(variable), 0), n, axis=0)  # frozen: shared

        h = x
        for layer in self.layers:
            if isinstance(layer, layers.Dense):
                h = ops.einsum("ni,nio->no", h, weight(layer.kernel))
                h = layer.activation(h + weight(layer.bias) if layer.use_bias else h)
            elif isinstance(layer, layers.Conv2DTranspose):
                h = conv_transpose(layer, h, weight(layer.kernel))
                if layer.use_bias:
                    h = h + weight(layer.bias)[:, None, None, :]
                h = layer.activation(h)
            elif isinstance(layer, layers.BatchNormalization):
                h = batch_norm_inference(layer, h, weight)
            else:
                h = layer(h)
        return h


def conv_transpose(layer: layers.Conv2DTranspose, x, kernel):
    """``layer``'s transposed convolution of ``x`` (n, h, w, c_in) with a kernel per sample
    (n, kh, kw, c_out, c_in): every input pixel is multiplied into a kh x kw patch of outputs, and the
    patches, ``strides`` apart, are added where they overlap."""
    kh, kw = layer.kernel_size
    sh, sw = layer.strides
    if kh % sh or kw % sw or tuple(layer.dilation_rate) != (1, 1) or layer.data_format != "channels_last" \
            or layer.output_padding is not None:
        raise TypeError(f"Conv2DTranspose {layer.name!r}: per-copy form needs kernels a multiple of the strides, "
                        "no dilation or output padding, channels last")
    n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
    c_out = kernel.shape[3]
    patches = ops.einsum("nijc,nabdc->nijabd", x, kernel)  # (n, h, w, kh, kw, c_out)
    mh, mw = kh // sh, kw // sw
    patches = ops.reshape(patches, (n, h, w, mh, sh, mw, sw, c_out))
    full = 0
    for a in range(mh):  # overlap-add: the patch of pixel (i, j) lands at block (i + a, j + b)
        for b in range(mw):
            full = full + ops.pad(patches[:, :, :, a, :, b, :, :],
                                  [(0, 0), (a, mh - 1 - a), (b, mw - 1 - b), (0, 0), (0, 0), (0, 0)])
    rows, cols = h + mh - 1, w + mw - 1
    full = ops.reshape(ops.transpose(full, (0, 1, 3, 2, 4, 5)), (n, rows * sh, cols * sw, c_out))
    if layer.padding == "valid":
        return full
    top, left = (kh - sh) // 2, (kw - sw) // 2  # 'same': the output is the input size times the stride
    return full[:, top:top + h * sh, left:left + w * sw, :]


def batch_norm_inference(layer: layers.BatchNormalization, x, weight):
    """``layer`` in inference mode (its moving statistics) with a scale and offset per sample."""
    if layer.axis not in (-1, len(x.shape) - 1):
        raise TypeError(f"BatchNormalization {layer.name!r}: per-copy form normalises the last axis only")
    shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
    h = (x - ops.convert_to_tensor(layer.moving_mean)) * ops.rsqrt(
        ops.convert_to_tensor(layer.moving_variance) + layer.epsilon)
    if layer.scale:
        h = h * ops.reshape(weight(layer.gamma), shape)
    if layer.center:
        h = h + ops.reshape(weight(layer.beta), shape)
    return h
