"""Adam train ops for D and G, each restricted to its own scope, and the fused D-then-G step.

A D step moves only ``discriminator/`` variables and a G step only ``generator/`` ones, because
each optimizer's ``var_list`` is filtered by scope. The optimizers' own variables (moments and
beta powers) are created under the same scopes, so a checkpoint holds nothing else but the
global step.
"""
import collections
import enum

from gan_mnist.techniques import ema
from gan_mnist.core import layers, losses, models
from gan_mnist.tf_compat import tf

class Phase(enum.Enum):
    """What one ``session.run`` of the training loop does (as stylegan2-ada names its phases)."""
    D = "a D update alone (the seeds' first session.run of a step)"
    G = "a G update alone (their second)"
    TRAIN = "a D update, then a G update against the updated D: one training step"
    TRAIN_REG = "the same, with D's regulariser (R1) in D's loss: every r1_every-th step"
    PRETRAIN = "a D update that counts as a step (D pre-training)"
    PRETRAIN_REG = "the same, with D's regulariser"

    @property
    def pretrains(self):
        """Whether this phase is a D pre-training step (G is not updated)."""
        return self in (Phase.PRETRAIN, Phase.PRETRAIN_REG)


def phases_used(config):
    """The phases a training run of ``config`` steps through: only these are built."""
    used = {Phase.TRAIN}
    if config.d_pretrain_steps:
        used.add(Phase.PRETRAIN)
    if config.r1:
        used |= {Phase.TRAIN_REG} | ({Phase.PRETRAIN_REG} if config.d_pretrain_steps else set())
    return used


TrainOps = collections.namedtuple("TrainOps", "steps loss d_reg_loss g_losses global_step")
TrainOps.__doc__ = """``steps``: Phase -> op (the _REG phases only with --r1); ``loss``: the
GANLoss the steps minimise; ``d_reg_loss``: D's loss on the regularised phases (None without
--r1); ``g_losses``: Phase -> G's loss as that phase computes it (in TRAIN and TRAIN_REG read
against the D its own D update leaves, so fetching it with the step runs no other D update;
elsewhere G's plain loss)."""


def _then_power_iteration(d_update):
    """--spectral-norm: after a D update, store each weight's new singular-vector estimate."""
    pairs = tf.get_collection(layers.SPECTRAL_NORM_UPDATES)
    if not pairs:
        return d_update
    with tf.control_dependencies([d_update]):
        assigns = [tf.assign(u, new_u) for u, new_u in pairs]
    return tf.group(d_update, *assigns)


def build_train_ops(model, config, global_step, extra_phases=()):
    """The fused step and the other phases the config uses (``phases_used``), plus
    ``extra_phases``: ``Phase.G`` builds a G step of its own, for the seeds' two
    ``session.run`` calls (tests and the benchmark ask for it). ``Phase.D``, D's update, is
    part of every training step and is always there.

    ``Phase.TRAIN`` does, in one ``session.run``, exactly what running ``Phase.D`` then
    ``Phase.G`` does: the D update first, then a G update whose loss reads D's *updated*
    weights (a control dependency orders the reads after the update; the dropout masks are the
    same). Only the G
    updates advance ``global_step`` - and ``Phase.PRETRAIN``, a D update counted as a step, for
    the D-only steps at the start of recipes that pre-train D. G's batch-norm moving averages
    are updated with each G update.

    With --r1, ``Phase.TRAIN_REG`` and ``Phase.PRETRAIN_REG`` are the same steps with the R1
    penalty (times r1_every) in D's loss; ``phase_for_step`` says which one a step runs.
    """
    loss = losses.gan_loss(model, config)
    d_vars = models.scope_variables(models.DISCRIMINATOR_SCOPE)
    g_vars = models.scope_variables(models.GENERATOR_SCOPE)
    d_losses = {False: loss.d_loss}  # regularised or not -> D's loss
    if loss.d_regulariser is not None:  # lazy: K times the penalty on every K-th step
        d_losses[True] = loss.d_loss + config.r1_every * loss.d_regulariser

    # Re-entering each model's name scope (the trailing "/") puts Adam's beta powers there too.
    d_steps, pretrain_steps = {}, {}
    with tf.name_scope(models.DISCRIMINATOR_SCOPE + "/"):
        d_optimizer = tf.train.AdamOptimizer(config.lr_d, beta1=config.beta1)
        for regularised, d_loss in d_losses.items():
            prefix = "r1_" if regularised else ""
            d_steps[regularised] = _then_power_iteration(
                d_optimizer.minimize(d_loss, var_list=d_vars, name=prefix + "d_step"))
            if not config.d_pretrain_steps:
                continue
            pretrain_steps[regularised] = _then_power_iteration(
                d_optimizer.minimize(d_loss, var_list=d_vars, global_step=global_step,
                                     name=prefix + "pretrain_step"))
    g_updates = models.scope_update_ops(models.GENERATOR_SCOPE)
    with tf.name_scope(models.GENERATOR_SCOPE + "/"):
        g_optimizer = tf.train.AdamOptimizer(config.lr_g, beta1=config.beta1)
        g_step = None
        if Phase.G in extra_phases:
            g_step = tf.group(g_optimizer.minimize(loss.g_loss, var_list=g_vars,
                                                   global_step=global_step), *g_updates,
                              name="g_step")
    average = ema.moving_average(config.ema, global_step)

    def g_step_after(d_step):
        """A G update whose loss reads D's weights as ``d_step`` leaves them."""
        with tf.control_dependencies([d_step]):
            fake_logits_after_d, _ = models.discriminator(model.fake, config, model.conditioning,
                                                          reuse=True,
                                                          seed=model.fake_seed,
                                                          labels=model.labels)
        g_loss = loss.generator_loss(fake_logits_after_d)
        with tf.name_scope(models.GENERATOR_SCOPE + "/"):
            # The same optimizer object, so the fused and the separate G steps share Adam's slots.
            step = g_optimizer.minimize(g_loss, var_list=g_vars, global_step=global_step)
        return g_loss, average(tf.group(step, *g_updates))

    fused_g_loss, fused_g_step = g_step_after(d_steps[False])
    steps = {Phase.D: d_steps[False],
             Phase.TRAIN: tf.group(d_steps[False], fused_g_step, name="train_step")}
    g_losses = {Phase.TRAIN: fused_g_loss}
    if pretrain_steps:
        steps[Phase.PRETRAIN] = pretrain_steps[False]
    if True in d_steps:
        g_losses[Phase.TRAIN_REG], r1_g_step = g_step_after(d_steps[True])
        steps[Phase.TRAIN_REG] = tf.group(d_steps[True], r1_g_step, name="r1_train_step")
        if pretrain_steps:
            steps[Phase.PRETRAIN_REG] = pretrain_steps[True]
    if g_step is not None:
        steps[Phase.G] = average(g_step)
    for phase in steps:
        g_losses.setdefault(phase, loss.g_loss)
    return TrainOps(steps, loss, d_losses.get(True), g_losses, global_step)


def phase_for_step(config, step):
    """The phase that takes the global step from ``step`` to ``step + 1`` in the training loop: a
    D-only step while D pre-trains, a regularised step on every r1_every-th step (--r1), else
    the fused D-then-G step. A function of the step alone, so resumed runs repeat it."""
    regularised = bool(config.r1) and step % config.r1_every == 0
    if step < config.d_pretrain_steps:
        return Phase.PRETRAIN_REG if regularised else Phase.PRETRAIN
    return Phase.TRAIN_REG if regularised else Phase.TRAIN

