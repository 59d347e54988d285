"""The training loop: graph, session, resume, checkpoints, sample grids, logs, progress bar.

It only wires the stages together: data -> pipeline -> models -> losses/train ops -> artifacts.
"""
import collections
import os
import signal
import tempfile
import time

import numpy as np

from gan_mnist import GanError, checkpoints, config as config_lib, data, images, models
from gan_mnist.logs import MetricsLog
from gan_mnist.pipeline import build_inputs
from gan_mnist.tf_compat import tf
from gan_mnist.train_ops import build_train_ops

SAMPLE_GRID_SIZE = 64  # an 8x8 grid of the same noise vectors all run long

TrainingGraph = collections.namedtuple(
    "TrainingGraph", "graph inputs model ops sample_z samples saver init")


def fixed_noise(config, n=SAMPLE_GRID_SIZE):
    """The noise batch behind every sample grid: the same for a given seed, across resumes."""
    return np.random.RandomState(config.seed).uniform(-1, 1, (n, config.z_dim)).astype(np.float32)


def build_training_graph(config, num_images):
    """Everything a training session needs, in a new graph."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)  # fixes the initial weights
        global_step = tf.train.get_or_create_global_step()
        inputs = build_inputs(num_images, config.batch_size, config.z_dim, config.seed,
                              global_step)
        model = models.build_gan(inputs.real, inputs.z, config)
        ops = build_train_ops(model, config, global_step)
        sample_z = tf.placeholder(tf.float32, [None, config.z_dim], name="sample_z")
        samples = models.generator(sample_z, config, reuse=True)
        saver = checkpoints.make_saver()
        init = tf.global_variables_initializer()
    return TrainingGraph(graph, inputs, model, ops, sample_z, samples, saver, init)


def start_session(tg, train_images):
    """A session with the training digits loaded and all variables initialised."""
    session = tf.Session(graph=tg.graph, config=tf.ConfigProto(allow_soft_placement=True))
    session.run(tg.inputs.images.initializer, {tg.inputs.images_feed: train_images})
    session.run(tg.init)
    return session


def check_writable(folder, what):
    """Create ``folder`` if needed and prove we can write there, before any work starts."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise GanError("cannot write to the %s folder %s: %s" % (what, folder, e.strerror or e))


class _StopRequest:
    """Turns Ctrl-C and SIGTERM into a flag the loop checks between steps, so a step is never cut
    in half and a checkpoint is always saved before exiting."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:  # a second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def train(config):
    """Train until the global step reaches ``config.steps``; return the process exit status.

    0 when the target step is reached, 128 + signal number when stopped by Ctrl-C or SIGTERM
    (after saving a checkpoint).
    """
    check_writable(config.checkpoint_dir, "checkpoint")
    check_writable(config.output_dir, "output")
    if config.fresh:
        moved = checkpoints.move_aside(config.checkpoint_dir)
        if moved:
            print("--fresh: moved the previous checkpoint to %s" % moved)
    train_images, _ = data.load_split(config.data_dir, "train")

    tg = build_training_graph(config, len(train_images))
    with start_session(tg, train_images) as session:
        step = checkpoints.restore(session, tg.saver, config.checkpoint_dir)
        if step:
            print("resumed from step %d" % step)
        config_lib.save(config, config.checkpoint_dir)
        if step >= config.steps:
            print("the checkpoint is already at step %d (--steps %d): nothing to do"
                  % (step, config.steps))
            return 0
        return _loop(config, tg, session, step)


def _loop(config, tg, session, step):
    from tqdm import tqdm

    noise = fixed_noise(config)
    log = MetricsLog(config.output_dir, session.graph, resume_step=step)
    ops = tg.ops
    logged = [ops.d_loss, ops.fused_g_loss, tf.reduce_mean(tg.model.real_prob),
              tf.reduce_mean(tg.model.fake_prob)]
    tg.graph.finalize()  # nothing may add ops inside the loop (a classic TF1 slowdown)

    def write_grid(at_step):
        grid = images.grid(session.run(tg.samples, {tg.sample_z: noise}))
        images.save_png(os.path.join(config.output_dir, "samples_step_%06d.png" % at_step), grid)
        log.image("samples", grid, at_step)

    if step == 0:
        write_grid(0)  # the untrained generator, for comparison
    saved_at = sampled_at = first_step = step
    start_time = time.time()
    bar = tqdm(total=config.steps, initial=step, unit="step", dynamic_ncols=True,
               desc="training")
    try:
        with _StopRequest() as stop:
            while step < config.steps and stop.signum is None:
                log_now = (step + 1) % config.log_every == 0 or step + 1 == config.steps
                if log_now:
                    _, d_loss, g_loss, d_real, d_fake = session.run([ops.train_step] + logged)
                else:
                    session.run(ops.train_step)
                step += 1
                bar.update(1)
                if log_now:
                    bar.set_postfix_str("D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f"
                                        % (d_loss, g_loss, d_real, d_fake), refresh=False)
                    log.scalars(step, d_loss=d_loss, g_loss=g_loss, d_real=d_real,
                                d_fake=d_fake)
                if step % config.sample_every == 0:
                    write_grid(step)
                    sampled_at = step
                if step % config.checkpoint_every == 0:
                    checkpoints.save(session, tg.saver, config.checkpoint_dir, step)
                    saved_at = step
        if sampled_at != step:
            write_grid(step)
        if saved_at != step:
            checkpoints.save(session, tg.saver, config.checkpoint_dir, step)
    finally:
        bar.close()
        log.close()
    elapsed = time.time() - start_time
    if stop.signum is not None:
        print("stopped at step %d; checkpoint saved in %s. Run the same command to resume."
              % (step, config.checkpoint_dir))
        return 128 + stop.signum
    print("done: step %d (%.0f steps/s); checkpoint in %s, samples in %s"
          % (step, (step - first_step) / max(elapsed, 1e-9), config.checkpoint_dir,
             config.output_dir))
    return 0
