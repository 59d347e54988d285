"""The GAN, read top to bottom: G and D in their variable scopes, the losses, and the train ops
(Adam per network on its own variables, the fused D-then-G step, lazy R1, the spectral-norm
updates, G's moving average). The networks of each architecture are in networks.py, the layers
in layers.py; the training loop that runs these ops is gan_mnist.training.trainer.

Nothing here reads the Config: the graph builder (gan_mnist.training.graph) unpacks it once into
a ModelSpec (what G and D are) and a TrainSpec (how they learn), and hands those in.

Variables are made with ``tf.get_variable`` inside ``tf.variable_scope("generator")`` and
``tf.variable_scope("discriminator")``, so train ops, savers and tests select them by scope.
Layers use ``tf.get_variable`` and ``tf.nn`` only: ``tf.layers`` and Keras layers do not work
inside compat.v1 graphs under Keras 3. ``training`` switches batch norm between batch statistics
(their moving-average updates collected in ``tf.GraphKeys.UPDATE_OPS``) and the moving averages,
and dropout on or off; dropout masks come from a stateless seed, so a resumed run repeats an
uninterrupted one exactly.
"""
import collections
import dataclasses
import enum

from gan_mnist.core import layers, networks, precision
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.tf_compat import tf

# ---- the two specs: what the graph builder unpacks from the Config --------------------------


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What G and D are: fixed by the checkpoint (their variables fit only this)."""
    arch: str  # gan_mnist.core.architectures: which networks, which pixel range
    z_dim: int  # the noise G turns into a digit
    hidden: int  # width of the networks that take one (fc, mlp256, fast); 0: fixed sizes
    spectral_norm: bool  # D's weights divided by their largest singular value
    precision: str  # what the convolutions compute in while training (--precision)


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """How G and D learn."""
    loss: str  # "ns" (non-saturating) or "hinge": LOSSES
    label_smoothing: float  # real labels become 1 - s (ns only)
    r1: float  # gamma of the R1 penalty on real digits; 0 is off
    r1_every: int  # lazy R1: the penalty, times r1_every, on every r1_every-th D step
    lr_d: float  # Adam's learning rates, D's and G's
    lr_g: float
    beta1: float  # Adam's first moment decay, both networks
    ema: float  # decay of G's moving average; 0 is off
    d_pretrain_steps: int  # the first N steps train only D


def pixel_range(arch):
    """(low, high) of the pixels an architecture's networks see and produce."""
    return ARCHITECTURES[arch].pixel_range


def to_tanh_range(images, arch):
    """Generated images mapped to [-1, 1], the range grids and evaluation expect."""
    low, high = pixel_range(arch)
    return images if (low, high) == (-1.0, 1.0) else images * 2.0 - 1.0


# ---- G and D, each in its variable scope -----------------------------------------------------

GENERATOR_SCOPE = "generator"
DISCRIMINATOR_SCOPE = "discriminator"

GANModel = collections.namedtuple(
    "GANModel",
    "real z fake real_logits real_prob fake_logits fake_prob fake_seed labels conditioning")
GANModel.__doc__ = """The two networks joined (TF-GAN's GANModel): the real batch and the noise,
G's images, D's logits and P(real) on each, the dropout seed of D's fake pass, the one-hot labels
both saw (conditional and --clusters models, else None) and the conditioning that made them."""


def scope_variables(scope, collection=None):
    """Trainable variables (or those of ``collection``) whose names start with ``scope/``."""
    collection = collection or tf.GraphKeys.TRAINABLE_VARIABLES
    return [v for v in tf.get_collection(collection) if v.op.name.startswith(scope + "/")]


def scope_update_ops(scope):
    """Batch-norm moving-average updates created inside ``scope``."""
    return [op for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            if op.name.startswith(scope + "/")]


def _computes_in(spec, training):
    """--precision's type while training, float32 otherwise (grids, evaluation and export
    sample in float32)."""
    return precision.convolution_dtype(spec.precision) if training else tf.float32


def generator(z, spec, conditioning, reuse=False, training=True, custom_getter=None,
              labels=None):
    """Flat images (batch, 784) in the architecture's pixel range, from noise z (batch, z_dim).

    ``custom_getter``: how the network reads its weights: the sampling generator passes
    ``read_averages`` to read G's moving averages (--ema). ``conditioning``
    (gan_mnist.techniques.conditioning) says what joins the noise at G's input (Mirza & Osindero
    2014): for a --conditional model, ``labels``, the classes asked for as one-hot rows (batch,
    10) (soft rows blend classes); for a --clusters model its group, given as ``labels`` while
    training (the real batch's groups), otherwise picked by the first noise coordinate."""
    build = getattr(networks, ARCHITECTURES[spec.arch].generator)
    with tf.variable_scope(GENERATOR_SCOPE, reuse=reuse or bool(custom_getter),
                           custom_getter=custom_getter), \
            layers.convolutions_in(_computes_in(spec, training)):
        z, labels = conditioning.generator_input(z, labels)
        if labels is not None:
            z = tf.concat([z, labels], axis=1)
        return build(z, training, hidden=spec.hidden, z_dim=spec.z_dim)


def discriminator(x, spec, conditioning, reuse=False, training=True, seed=None, labels=None):
    """(logit, probability), each of shape (batch,), that the images x (batch, 784) are real.

    ``seed`` (an int64 pair) fixes the dropout masks of architectures that use dropout. With
    --spectral-norm every weight matrix and kernel is read divided by its largest singular value.
    The network gives features h; the logit is a dense layer on h. A conditional model adds the
    projection term <embedding(label), h> (Miyato & Koyama 2018): D judges "a real 7", not just
    "real", through one extra matrix. ``labels``: one-hot rows (the batch's classes or groups).
    """
    build = getattr(networks, ARCHITECTURES[spec.arch].discriminator)
    getter = layers.spectral_norm_getter if spec.spectral_norm else None
    with tf.variable_scope(DISCRIMINATOR_SCOPE, reuse=reuse, custom_getter=getter), \
            layers.convolutions_in(_computes_in(spec, training)):
        features = build(x, training, seed, hidden=spec.hidden)
        logits = layers.dense(features, 1, "logit")
        if conditioning.width:
            if labels is None:
                raise ValueError("a conditional model needs labels")
            embedded = layers.embedding(labels, int(features.shape[-1]), "projection")
            logits += tf.reduce_sum(embedded * features, axis=1, keepdims=True)
        logits = tf.reshape(logits, [-1])
    return logits, tf.sigmoid(logits)


def build_gan(real, z, spec, conditioning, real_seed=None, fake_seed=None, labels=None):
    """G on z, and D on the real and on G's images (the same weights).

    ``labels`` (one-hot; conditional and --clusters models only): the real batch's classes or
    groups; G is asked for the same ones, so D sees the same mix in real and generated images."""
    fake = generator(z, spec, conditioning, labels=labels)
    real_logits, real_prob = discriminator(real, spec, conditioning, seed=real_seed,
                                           labels=labels)
    fake_logits, fake_prob = discriminator(fake, spec, conditioning, reuse=True, seed=fake_seed,
                                           labels=labels)
    return GANModel(real, z, fake, real_logits, real_prob, fake_logits, fake_prob, fake_seed,
                    labels, conditioning)


# ---- the losses: plain functions of D's logits ----------------------------------------------

def discriminator_loss(real_logits, fake_logits, label_smoothing=0.1):
    """Sigmoid cross-entropy: real images labelled 1 - smoothing, generated images labelled 0.

    One-sided label smoothing keeps D from growing over-confident on real digits, which would
    starve G of gradient (Salimans et al. 2016).
    """
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(real_logits), 1.0 - label_smoothing), logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.add(tf.reduce_mean(real_loss), tf.reduce_mean(fake_loss), name="d_loss")


def generator_loss(fake_logits):
    """Non-saturating loss: G maximises log D(G(z)) by labelling its images 1.

    Strong gradients early in training, when D easily rejects G's output (Goodfellow et al. 2014).
    """
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake_logits),
                                                   logits=fake_logits)
    return tf.reduce_mean(loss, name="g_loss")


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge loss: D is pushed to logits >= 1 on real and <= -1 on generated images, and no
    further (Lim & Ye 2017; Miyato et al. 2018). No label smoothing: the margin plays its part."""
    return tf.add(tf.reduce_mean(tf.nn.relu(1.0 - real_logits)),
                  tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)), name="d_loss")


def hinge_generator_loss(fake_logits):
    """G raises D's logits on its images: -mean(D(G(z)))."""
    return tf.negative(tf.reduce_mean(fake_logits), name="g_loss")


def r1_penalty(real_logits, real):
    """R1: half the mean squared norm of D's gradient with respect to the real images (Mescheder
    et al. 2018). Penalising D's slope on real digits keeps it from overshooting around the data,
    the oscillation that stops plain GANs from converging. Times gamma, added to D's loss."""
    gradient = tf.gradients(tf.reduce_sum(real_logits), real)[0]
    return tf.multiply(0.5, tf.reduce_mean(tf.reduce_sum(tf.square(gradient), axis=1)),
                       name="r1_penalty")


LOSSES = {  # --loss: (D loss of (real_logits, fake_logits, label_smoothing), G loss of logits)
    "ns": (discriminator_loss, generator_loss),
    "hinge": (lambda real, fake, smoothing: hinge_discriminator_loss(real, fake),
              hinge_generator_loss),
}

GANLoss = collections.namedtuple("GANLoss", "d_loss g_loss d_regulariser generator_loss_of")
GANLoss.__doc__ = """D's and G's losses on the model's logits (tensors, as TF-GAN's GANLoss);
``d_regulariser``: what R1 adds to D's loss on a step that carries it (gamma times the penalty),
or None without --r1; ``generator_loss_of``: the function of logits that gave ``g_loss``, for
a G step against an updated D."""


def gan_loss(model, spec):
    """The losses of a GANModel for a TrainSpec (--loss, --label-smoothing, --r1)."""
    discriminator_loss_of, generator_loss_of = LOSSES[spec.loss]
    d_loss = discriminator_loss_of(model.real_logits, model.fake_logits, spec.label_smoothing)
    g_loss = generator_loss_of(model.fake_logits)
    regulariser = spec.r1 * r1_penalty(model.real_logits, model.real) if spec.r1 else None
    return GANLoss(d_loss, g_loss, regulariser, generator_loss_of)


# ---- G's moving average (--ema), kept beside G and read for every sample ------------------------
# As StyleGAN2-ADA keeps G_ema: updated after each G step, read by every grid, sample, evaluation
# and export.

EMA_SCOPE = GENERATOR_SCOPE + "/ema"  # generator/ema/x/weights: the average of generator/x/weights


def ema_name(name):
    """``generator/x/weights`` -> ``generator/ema/x/weights``: where its moving average lives."""
    return EMA_SCOPE + name[len(GENERATOR_SCOPE):]


def averaged_variables(variables=None):
    """The generator's variables whose moving average --ema keeps: its weights and batch-norm
    statistics (not Adam's slots, not the averages themselves)."""
    if variables is None:
        variables = scope_variables(GENERATOR_SCOPE, tf.GraphKeys.GLOBAL_VARIABLES)
    return [v for v in variables if not v.op.name.startswith(EMA_SCOPE + "/")
            and "/Adam" not in v.op.name and not v.op.name.endswith("_power")]


def read_averages(getter, name, *args, **kwargs):
    """A custom getter: the generator built under it reads each weight's average instead."""
    return getter(ema_name(name), *args, **kwargs)


def sampling_variables(ema, variables):
    """For a Saver that loads a generator built with raw names: checkpoint name -> variable,
    reading the moving averages when the run kept them (``ema``, its decay: 0 is off)."""
    return {(ema_name(v.op.name) if ema else v.op.name): v for v in averaged_variables(variables)}


def moving_average(decay, global_step):
    """A shadow copy of each generator weight (and batch-norm statistic) under
    ``generator/ema/``, and a function that, given a G update, returns an op doing that update
    and then ``shadow = d * shadow + (1 - d) * weight``.

    d = min(decay, (1 + step) / (10 + step)) after the step's update, so early averages are not
    dominated by the random initial weights (TensorFlow's ExponentialMovingAverage warm-up). It
    depends only on the step: a resumed run averages exactly like an uninterrupted one.
    Without --ema (decay 0) the function returns the update as it is.
    """
    if not decay:
        return lambda update: update
    pairs = []
    for variable in averaged_variables():
        with tf.variable_scope("", reuse=False):
            shadow = tf.get_variable(ema_name(variable.op.name), trainable=False,
                                     initializer=variable.initial_value)
        pairs.append((variable, shadow))

    def after(update):
        with tf.control_dependencies([update]):
            step = tf.cast(global_step, tf.float32)
            d = tf.minimum(decay, (1.0 + step) / (10.0 + step))
            return tf.group(*[tf.assign(shadow, d * shadow + (1.0 - d) * variable.read_value())
                              for variable, shadow in pairs])
    return after


# ---- the phases: what one session.run of the training loop does -------------------------------

class Phase(enum.Enum):
    """What one ``session.run`` of the training loop does (as stylegan2-ada names its phases)."""
    D = "a D update alone (the tutorials' first session.run of a step)"
    G = "a G update alone (their second)"
    TRAIN = "a D update, then a G update against the updated D: one training step"
    TRAIN_REG = "the same, with D's regulariser (R1) in D's loss: every r1_every-th step"
    PRETRAIN = "a D update that counts as a step (D pre-training)"
    PRETRAIN_REG = "the same, with D's regulariser"


# The loop's phases as data (stylegan2-ada's training_loop keeps its phases in a list): each
# training step runs the one row that matches it. "pre-training": the step is below
# d_pretrain_steps; "R1": r1 is on and the step is a multiple of r1_every. A row whose condition
# a TrainSpec never meets is not built.
PHASES = (  # (phase, during D pre-training, with R1)
    (Phase.PRETRAIN_REG, True, True),
    (Phase.PRETRAIN, True, False),
    (Phase.TRAIN_REG, False, True),
    (Phase.TRAIN, False, False),
)


def phases_used(spec):
    """The loop's phases a run of ``spec`` steps through: only these are built."""
    return {phase for phase, pretraining, regularised in PHASES
            if (spec.d_pretrain_steps or not pretraining) and (spec.r1 or not regularised)}


def phase_for_step(spec, step):
    """The phase that takes the global step from ``step`` to ``step + 1``: a function of the
    step alone, so a resumed run repeats it."""
    pretraining = step < spec.d_pretrain_steps
    regularised = bool(spec.r1) and step % spec.r1_every == 0
    return next(phase for phase, pre, reg in PHASES if (pre, reg) == (pretraining, regularised))


def pretrains(phase):
    """Whether ``phase`` is a D pre-training step (G is not updated)."""
    return any(pre for p, pre, _ in PHASES if p == phase)


# ---- the train ops: Adam per network, the fused D-then-G step ----------------------------------

TrainOps = collections.namedtuple("TrainOps", "steps loss d_reg_loss g_losses global_step")
TrainOps.__doc__ = """``steps``: Phase -> op (the loop's phases_used, Phase.D, and any extra);
``loss``: the GANLoss the steps minimise; ``d_reg_loss``: D's loss on the regularised phases
(None without --r1); ``g_losses``: Phase -> G's loss as that phase computes it (in TRAIN and
TRAIN_REG read against the D its own D update leaves, so fetching it with the step runs no other
D update; elsewhere G's plain loss)."""


def _then_power_iteration(d_update):
    """--spectral-norm: after a D update, store each weight's new singular-vector estimate."""
    pairs = tf.get_collection(layers.SPECTRAL_NORM_UPDATES)
    if not pairs:
        return d_update
    with tf.control_dependencies([d_update]):
        assigns = [tf.assign(u, new_u) for u, new_u in pairs]
    return tf.group(d_update, *assigns)


def build_train_ops(model, model_spec, spec, global_step, extra_phases=()):
    """The train ops of ``model`` for ``spec`` (a TrainSpec): the loop's phases (phases_used),
    ``Phase.D`` (D's update, part of every training step), and ``extra_phases``: ``Phase.G``
    builds a G step of its own, for the tutorials' two ``session.run`` calls (tests and the
    benchmark ask for it). ``model_spec`` (a ModelSpec): D's networks, rebuilt for G's loss
    after D's update.

    A D step moves only ``discriminator/`` variables and a G step only ``generator/`` ones: each
    optimizer's ``var_list`` is chosen by scope, and its own variables (moments, beta powers) are
    made under the same scope, so a checkpoint holds nothing else but the global step.

    ``Phase.TRAIN`` does, in one ``session.run``, exactly what running ``Phase.D`` then
    ``Phase.G`` does: the D update first, then a G update whose loss reads D's *updated*
    weights (a control dependency orders the reads after the update; the dropout masks are the
    same). Only G updates advance ``global_step``, and ``Phase.PRETRAIN``, a D update counted
    as a step. G's batch-norm moving averages are updated with each G update, and G's moving
    average (--ema) after it. With --r1, ``Phase.TRAIN_REG`` and ``Phase.PRETRAIN_REG`` are
    the same steps with r1_every times the R1 penalty in D's loss.
    """
    used = phases_used(spec)
    loss = gan_loss(model, spec)
    d_vars = scope_variables(DISCRIMINATOR_SCOPE)
    g_vars = scope_variables(GENERATOR_SCOPE)
    d_losses = {False: loss.d_loss}  # regularised or not -> D's loss
    if loss.d_regulariser is not None:  # lazy: K times the penalty on every K-th step
        d_losses[True] = loss.d_loss + spec.r1_every * loss.d_regulariser

    # Re-entering each model's name scope (the trailing "/") puts Adam's beta powers there too.
    d_steps, pretrain_steps = {}, {}
    with tf.name_scope(DISCRIMINATOR_SCOPE + "/"):
        d_optimizer = tf.train.AdamOptimizer(spec.lr_d, beta1=spec.beta1)
        for regularised, d_loss in d_losses.items():
            prefix = "r1_" if regularised else ""
            d_steps[regularised] = _then_power_iteration(
                d_optimizer.minimize(d_loss, var_list=d_vars, name=prefix + "d_step"))
            if not spec.d_pretrain_steps:
                continue
            pretrain_steps[regularised] = _then_power_iteration(
                d_optimizer.minimize(d_loss, var_list=d_vars, global_step=global_step,
                                     name=prefix + "pretrain_step"))
    g_updates = scope_update_ops(GENERATOR_SCOPE)
    with tf.name_scope(GENERATOR_SCOPE + "/"):
        g_optimizer = tf.train.AdamOptimizer(spec.lr_g, beta1=spec.beta1)
        g_step = None
        if Phase.G in extra_phases:
            g_step = tf.group(g_optimizer.minimize(loss.g_loss, var_list=g_vars,
                                                   global_step=global_step), *g_updates,
                              name="g_step")
    average = moving_average(spec.ema, global_step)

    def g_step_after(d_step):
        """A G update whose loss reads D's weights as ``d_step`` leaves them."""
        with tf.control_dependencies([d_step]):
            fake_logits_after_d, _ = discriminator(model.fake, model_spec, model.conditioning,
                                                   reuse=True, seed=model.fake_seed,
                                                   labels=model.labels)
        g_loss = loss.generator_loss_of(fake_logits_after_d)
        with tf.name_scope(GENERATOR_SCOPE + "/"):
            # The same optimizer object, so the fused and the separate G steps share Adam's slots.
            step = g_optimizer.minimize(g_loss, var_list=g_vars, global_step=global_step)
        return g_loss, average(tf.group(step, *g_updates))

    # One training step: D's update, then G's against the D it leaves.
    fused_g_loss, fused_g_step = g_step_after(d_steps[False])
    steps = {Phase.D: d_steps[False],
             Phase.TRAIN: tf.group(d_steps[False], fused_g_step, name="train_step")}
    g_losses = {Phase.TRAIN: fused_g_loss}
    if Phase.PRETRAIN in used:
        steps[Phase.PRETRAIN] = pretrain_steps[False]
    if Phase.TRAIN_REG in used:
        g_losses[Phase.TRAIN_REG], r1_g_step = g_step_after(d_steps[True])
        steps[Phase.TRAIN_REG] = tf.group(d_steps[True], r1_g_step, name="r1_train_step")
    if Phase.PRETRAIN_REG in used:
        steps[Phase.PRETRAIN_REG] = pretrain_steps[True]
    if g_step is not None:
        steps[Phase.G] = average(g_step)
    for phase in steps:
        g_losses.setdefault(phase, loss.g_loss)
    return TrainOps(steps, loss, d_losses.get(True), g_losses, global_step)
