"""Layers from ``tf.get_variable`` and ``tf.nn`` primitives (no tf.layers, no Keras).

Each layer makes its variables in a sub-scope named after it, so checkpoints read like
``generator/bn1/moving_mean`` or ``discriminator/conv1/kernel``.
"""
import contextlib

from gan_mnist.tf_compat import tf

LEAKY_SLOPE = 0.2  # the slope DCGAN settled on; keeps gradients alive for negative inputs
BN_DECAY = 0.99  # moving averages follow the batch statistics with this momentum
BN_EPSILON = 1e-3


def leaky_relu(x):
    return tf.nn.leaky_relu(x, LEAKY_SLOPE)


def dense(x, units, name, bias=True):
    """x @ W (+ b) with Glorot-uniform W and zero b."""
    with tf.variable_scope(name):
        weights = tf.get_variable("weights", [int(x.shape[-1]), units],
                                  initializer=tf.glorot_uniform_initializer())
        y = tf.matmul(x, weights)
        if bias:
            y += tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
    return y


def embedding(one_hot_rows, units, name):
    """``dense(one_hot_rows, units, name, bias=False)`` for rows that are one-hot: the same
    weights and the same numbers, each row of W picked by its index instead of multiplied by a
    mostly-zero row (with 160 groups, a matmul over all 160 rows of W per sample, and the same
    again for W's gradient: about 5% of a ``--recipe best`` step).

    W's gradient stays a dense matrix, as dense's is, so Adam's update is the one it always was
    (a gather's own gradient would move Adam to its sparse update). Under --spectral-norm the
    picked rows of W / sigma are the picked rows of W, divided by sigma: the division runs over
    the batch's rows, not all of W.
    """
    with tf.variable_scope(name):
        weights = tf.get_variable("weights", [int(one_hot_rows.shape[-1]), units],
                                  initializer=tf.glorot_uniform_initializer())
    weights, sigma = spectral_norm_parts(weights)
    index = tf.argmax(one_hot_rows, axis=1, output_type=tf.int32)
    rows = int(weights.shape[0])

    @tf.custom_gradient
    def pick(matrix):
        def gradient(upstream):  # one-hot rows' transpose times upstream, without the zeros
            return tf.math.unsorted_segment_sum(upstream, index, rows)
        return tf.gather(matrix, index), gradient

    picked = pick(tf.convert_to_tensor(weights))
    return picked if sigma is None else picked / sigma


_CONVOLUTION_DTYPE = [tf.float32]  # innermost convolutions_in() last


@contextlib.contextmanager
def convolutions_in(dtype):
    """Convolutions built meanwhile compute in ``dtype`` (--precision, gan_mnist.core.precision):
    their input and kernel are cast to it and their output back to float32, so the variables,
    gradients reaching them and everything around stay float32."""
    _CONVOLUTION_DTYPE.append(dtype)
    try:
        yield
    finally:
        _CONVOLUTION_DTYPE.pop()


def _cast_in(*tensors):
    dtype = _CONVOLUTION_DTYPE[-1]
    return tensors if dtype == tf.float32 else [tf.cast(t, dtype) for t in tensors]


def _cast_out(y):
    return y if y.dtype == tf.float32 else tf.cast(y, tf.float32)


def conv2d(x, filters, kernel, stride, name):
    """A 'SAME'-padded convolution with a Glorot-uniform kernel and a zero bias."""
    with tf.variable_scope(name):
        k = tf.get_variable("kernel", [kernel, kernel, int(x.shape[-1]), filters],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable("bias", [filters], initializer=tf.zeros_initializer())
    return _cast_out(tf.nn.conv2d(*_cast_in(x, k), [1, stride, stride, 1], "SAME")) + b


def conv2d_transpose(x, filters, kernel, stride, name, bias=False):
    """A 'SAME'-padded transposed convolution: spatial size times ``stride``; no bias unless
    asked (one followed by batch norm does not need it)."""
    with tf.variable_scope(name):
        k = tf.get_variable("kernel", [kernel, kernel, filters, int(x.shape[-1])],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable("bias", [filters], initializer=tf.zeros_initializer()) if bias else None
    height, width = int(x.shape[1]) * stride, int(x.shape[2]) * stride
    output_shape = tf.stack([tf.shape(x)[0], height, width, filters])
    x, k = _cast_in(x, k)
    y = _cast_out(tf.nn.conv2d_transpose(x, k, output_shape, [1, stride, stride, 1], "SAME"))
    y = tf.reshape(y, [-1, height, width, filters])
    return y if b is None else y + b


def batch_norm(x, training, name):
    """Batch normalisation over all but the last axis.

    Training: normalise by the batch's statistics and queue updates of the moving averages in
    ``tf.GraphKeys.UPDATE_OPS`` (the train op runs them). Otherwise: use the moving averages, so
    a sample does not depend on the rest of its batch.

    Training runs TensorFlow's fused kernel (oneDNN's on CPU): one op forward and one backward,
    where ``tf.nn.moments`` and ``batch_normalization`` take a dozen small ones; it makes a
    ``--recipe best`` step about 5% faster (docs/results.md, "Speed"). The kernel hands out the
    batch's unbiased variance, n / (n - 1) times the one it normalises by; the moving average
    keeps following the latter, as it always has.
    """
    channels = int(x.shape[-1])
    with tf.variable_scope(name):
        gamma = tf.get_variable("gamma", [channels], initializer=tf.ones_initializer())
        beta = tf.get_variable("beta", [channels], initializer=tf.zeros_initializer())
        moving_mean = tf.get_variable("moving_mean", [channels], trainable=False,
                                      initializer=tf.zeros_initializer())
        moving_variance = tf.get_variable("moving_variance", [channels], trainable=False,
                                          initializer=tf.ones_initializer())
    if not training:
        return tf.nn.batch_normalization(x, moving_mean, moving_variance, beta, gamma,
                                         BN_EPSILON)
    as_images = x if len(x.shape) == 4 else tf.reshape(x, [-1, 1, 1, channels])  # NHWC
    y, mean, unbiased = tf.nn.fused_batch_norm(as_images, gamma, beta, epsilon=BN_EPSILON,
                                               is_training=True)
    n = tf.cast(tf.size(x) // channels, tf.float32)  # values per channel
    variance = unbiased * ((n - 1.0) / n)
    for average, value in ((moving_mean, mean), (moving_variance, variance)):
        update = tf.assign(average, average * BN_DECAY + value * (1.0 - BN_DECAY))
        tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, update.op)
    return y if len(x.shape) == 4 else tf.reshape(y, tf.shape(x))


def dropout(x, rate, training, seed=None, layer=0):
    """Zero a share ``rate`` of x (scaling the rest up) while training; identity otherwise.

    With ``seed`` (an int64 pair) the mask is a pure function of it and ``layer``.
    """
    if not training or rate == 0:
        return x
    if seed is None:
        return tf.nn.dropout(x, rate=rate)
    layer_seed = tf.stack([seed[0] * 8 + layer, seed[1]])
    keep = tf.random.stateless_uniform(tf.shape(x), layer_seed) >= rate
    return x * tf.cast(keep, x.dtype) / (1.0 - rate)


SPECTRAL_NORM_UPDATES = "spectral_norm_updates"  # graph collection: assigns of the u vectors
SPECTRAL_NORM_PARTS = "spectral_norm_parts"  # graph collection: (W / sigma, W, sigma) of each read


def spectral_norm_getter(getter, name, *args, **kwargs):
    """A custom getter that hands out W / sigma(W) instead of each weight matrix or kernel W.

    sigma is the largest singular value of W reshaped to (fan_in, units), estimated by one step of
    power iteration per training step from a persistent vector ``<W>/sn_u`` (non-trainable, so
    the optimizer leaves it alone and checkpoints keep it). Miyato et al. 2018: it bounds D's
    Lipschitz constant layer by layer, so D cannot grow steep enough to starve G of gradient.

    Every call reads the stored u; only the first (the one that creates the variables) queues
    the pair (u, new estimate) in ``SPECTRAL_NORM_UPDATES``; the D train op assigns it after its
    update, once per step, so every read of u within a step sees the same value.
    Biases, batch-norm parameters and anything not named weights/kernel pass through unchanged.
    """
    weight = getter(name, *args, **kwargs)
    if not (name.endswith("/weights") or name.endswith("/kernel")):
        return weight
    first_call = not kwargs.get("reuse")
    units = int(weight.shape[-1])  # dense (in, units); convolution (k, k, in, units)
    matrix = tf.reshape(weight, [-1, units])
    u = getter(name + "/sn_u", shape=[units], dtype=weight.dtype.base_dtype, trainable=False,
               initializer=tf.random_normal_initializer(),
               collections=[tf.GraphKeys.GLOBAL_VARIABLES])
    v = tf.math.l2_normalize(tf.linalg.matvec(matrix, u))
    new_u = tf.math.l2_normalize(tf.linalg.matvec(matrix, v, transpose_a=True))
    v, new_u = tf.stop_gradient(v), tf.stop_gradient(new_u)
    sigma = tf.tensordot(v, tf.linalg.matvec(matrix, new_u), 1)
    if first_call:
        tf.add_to_collection(SPECTRAL_NORM_UPDATES, (u, new_u))
    normalised = weight / sigma
    tf.add_to_collection(SPECTRAL_NORM_PARTS, (normalised, weight, sigma))
    return normalised


def spectral_norm_parts(weights):
    """(W, sigma) of a weight read through ``spectral_norm_getter`` (W / sigma), for a layer
    that divides its output by sigma instead; (weights, None) for any other weight."""
    for normalised, weight, sigma in tf.get_collection(SPECTRAL_NORM_PARTS):
        if normalised is weights:
            return weight, sigma
    return weights, None
