"""Adam train ops for D and G, each restricted to its own scope, and the fused D-then-G step.

A D step moves only ``discriminator/`` variables and a G step only ``generator/`` ones, because
each optimizer's ``var_list`` is filtered by scope. The optimizers' own variables (moments and
beta powers) are created under the same scopes, so a checkpoint holds nothing else but the
global step.
"""
import collections

from gan_mnist import layers, losses, models
from gan_mnist.tf_compat import tf

TrainOps = collections.namedtuple(
    "TrainOps", "d_step g_step train_step pretrain_step d_loss g_loss fused_g_loss global_step "
    "r1_train_step r1_pretrain_step")


def _moving_average(decay, global_step):
    """--ema: a shadow copy of each generator weight (and batch-norm statistic) under
    ``generator/ema/``, and a function that, given a G update, returns an op doing that update
    and then ``shadow = d * shadow + (1 - d) * weight``.

    d = min(decay, (1 + step) / (10 + step)) after the step's update, so early averages are not
    dominated by the random initial weights (TensorFlow's ExponentialMovingAverage warm-up). It
    depends only on the step: a resumed run averages exactly like an uninterrupted one.
    """
    pairs = []
    for variable in models.averaged_variables():
        with tf.variable_scope("", reuse=False):
            shadow = tf.get_variable(models.ema_name(variable.op.name), trainable=False,
                                     initializer=variable.initial_value)
        pairs.append((variable, shadow))

    def after(update):
        with tf.control_dependencies([update]):
            step = tf.cast(global_step, tf.float32)
            d = tf.minimum(decay, (1.0 + step) / (10.0 + step))
            return tf.group(*[tf.assign(shadow, d * shadow + (1.0 - d) * variable.read_value())
                              for variable, shadow in pairs])
    return after


def _then_power_iteration(d_update):
    """--spectral-norm: after a D update, store each weight's new singular-vector estimate."""
    pairs = tf.get_collection(layers.SPECTRAL_NORM_UPDATES)
    if not pairs:
        return d_update
    with tf.control_dependencies([d_update]):
        assigns = [tf.assign(u, new_u) for u, new_u in pairs]
    return tf.group(d_update, *assigns)


def build_train_ops(model, config, global_step):
    """Separate D and G steps (two ``session.run`` calls, as the seeds train) and a fused step.

    ``train_step`` does, in one ``session.run``, exactly what running ``d_step`` then ``g_step``
    does: the D update first, then a G update whose loss reads D's *updated* weights (a control
    dependency orders the reads after the update; the dropout masks are the same). Only the G
    updates advance ``global_step`` - and ``pretrain_step``, a D update counted as a step, for
    the D-only steps at the start of recipes that pre-train D. G's batch-norm moving averages
    are updated with each G update.

    With --r1, ``r1_train_step`` and ``r1_pretrain_step`` are the same steps with the R1 penalty
    (times r1_every) in D's loss; ``op_for_step`` says which one a step runs.
    """
    discriminator_loss, generator_loss = losses.LOSSES[config.loss]
    d_loss = discriminator_loss(model.real_logits, model.fake_logits, config.label_smoothing)
    g_loss = generator_loss(model.fake_logits)
    d_vars = models.scope_variables(models.DISCRIMINATOR_SCOPE)
    g_vars = models.scope_variables(models.GENERATOR_SCOPE)
    d_losses = {"": d_loss}
    if config.r1:
        penalty = losses.r1_penalty(model.real_logits, model.real)
        d_losses["r1_"] = d_loss + config.r1 * config.r1_every * penalty

    # Re-entering each model's name scope (the trailing "/") puts Adam's beta powers there too.
    d_steps, pretrain_steps = {}, {}
    with tf.name_scope(models.DISCRIMINATOR_SCOPE + "/"):
        d_optimizer = tf.train.AdamOptimizer(config.lr_d, beta1=config.beta1)
        for prefix, loss in d_losses.items():
            d_steps[prefix] = _then_power_iteration(
                d_optimizer.minimize(loss, var_list=d_vars, name=prefix + "d_step"))
            pretrain_steps[prefix] = _then_power_iteration(
                d_optimizer.minimize(loss, var_list=d_vars, global_step=global_step,
                                     name=prefix + "pretrain_step"))
    g_updates = models.scope_update_ops(models.GENERATOR_SCOPE)
    with tf.name_scope(models.GENERATOR_SCOPE + "/"):
        g_optimizer = tf.train.AdamOptimizer(config.lr_g, beta1=config.beta1)
        g_step = tf.group(g_optimizer.minimize(g_loss, var_list=g_vars, global_step=global_step),
                          *g_updates, name="g_step")
    average = _moving_average(config.ema, global_step) if config.ema else (lambda op: op)

    def g_step_after(d_step):
        """A G update whose loss reads D's weights as ``d_step`` leaves them."""
        with tf.control_dependencies([d_step]):
            fake_logits_after_d, _ = models.discriminator(model.fake, config, reuse=True,
                                                          seed=model.fake_seed,
                                                          labels=model.labels)
        loss = generator_loss(fake_logits_after_d)
        with tf.name_scope(models.GENERATOR_SCOPE + "/"):
            # The same optimizer object, so the fused and the separate G steps share Adam's slots.
            step = g_optimizer.minimize(loss, var_list=g_vars, global_step=global_step)
        return loss, average(tf.group(step, *g_updates))

    fused_g_loss, fused_g_step = g_step_after(d_steps[""])
    train_step = tf.group(d_steps[""], fused_g_step, name="train_step")
    r1_train_step = None
    if config.r1:
        r1_train_step = tf.group(d_steps["r1_"], g_step_after(d_steps["r1_"])[1],
                                 name="r1_train_step")
    return TrainOps(d_steps[""], average(g_step), train_step, pretrain_steps[""], d_loss, g_loss,
                    fused_g_loss, global_step, r1_train_step, pretrain_steps.get("r1_"))


def op_for_step(ops, config, step):
    """The op that takes the global step from ``step`` to ``step + 1`` in the training loop: a
    D-only step while D pre-trains, a step with the R1 penalty on every r1_every-th step (--r1),
    else the fused D-then-G step. A function of the step alone, so resumed runs repeat it."""
    r1 = config.r1 and step % config.r1_every == 0
    if step < config.d_pretrain_steps:
        return ops.r1_pretrain_step if r1 else ops.pretrain_step
    return ops.r1_train_step if r1 else ops.train_step
