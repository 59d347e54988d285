"""--ema: a moving average of G's weights, kept beside G and used for every grid, sample,
evaluation and export (as StyleGAN2-ADA keeps G_ema). Everything about it lives here: where the
averages are stored, how they are updated after a G step, and how a generator reads them.
"""
from gan_mnist.core.scopes import GENERATOR_SCOPE, scope_variables
from gan_mnist.tf_compat import tf

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


def sampling_variables(config, variables):
    """For a Saver that loads a generator built with raw names: checkpoint name -> variable,
    reading the moving averages when the run kept them (--ema)."""
    return {(ema_name(v.op.name) if config.ema else v.op.name): v
            for v in averaged_variables(variables)}


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
