"""The training loop: resume, the steps, and what happens between them (logs, sample grids,
quick evaluation, checkpoints, the progress bar). The graph itself is built in graph.py.
"""
import dataclasses
import os
import signal
import time

import numpy as np

from gan_mnist.errors import GanError
from gan_mnist.files import check_writable
from gan_mnist.core import data, gan, pipeline, precision
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.training import checkpoints, images, run_folder
from gan_mnist.training import config as config_lib
from gan_mnist.training.graph import build_training_graph, grid_inputs, start_session
from gan_mnist.training.logs import MetricsLog
from gan_mnist.training.progress import Progress
from gan_mnist.training.recipes import DEFAULT_RECIPE
from gan_mnist.tf_compat import GRAPPLER_NOISE, session_config, without_native_noise

EVAL_NOISE_SEED_OFFSET = 1  # the quick evaluation's noise differs from the grid's


class _LoopClock:
    """Seconds this process has spent in the step loop (graph building and start-up not
    counted), as --minutes counts them: a sweep trial spends its time budget by this clock."""

    def __init__(self):
        self.done, self.since = 0.0, None

    def seconds(self):
        return self.done + (time.time() - self.since if self.since is not None else 0.0)

    def __enter__(self):
        self.since = time.time()

    def __exit__(self, *exc):
        self.done, self.since = self.seconds(), None


LOOP_CLOCK = _LoopClock()


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


MAX_ROLLBACKS = 5


class Diverged(Exception):
    """NaN or Inf appeared in a loss or a weight at ``step``."""

    def __init__(self, step, where):
        super().__init__("training diverged at step %d (NaN or Inf in %s)" % (step, where))
        self.step = step


def train(config, quick_evaluator=None):
    """Train until the global step reaches ``config.steps``; return the process exit status.

    0 when the target step is reached, 128 + signal number when stopped by Ctrl-C or SIGTERM
    (after saving a checkpoint). Problems the user can fix raise GanError.
    ``quick_evaluator(config)``: handed down by the caller (gan_mnist.api passes
    gan_mnist.evaluation.evaluate.quick_evaluator), it returns an object with ``n`` and
    ``quick(digits, labels)`` -> scores, and is called only when the run reaches an
    --eval-every step. Without it the run has no quick evaluation.
    """
    folder = run_folder.RunFolder(config.checkpoint_dir)
    start_up = folder.start_up(config.output_dir)
    try:
        check_writable(config.checkpoint_dir, "checkpoint")
        check_writable(config.output_dir, "output")
        with folder.lock():
            return _train_in(folder, config, start_up, quick_evaluator)
    except BaseException:  # Ctrl-C or an error before the first step: the folders as they were
        start_up.undo()
        raise


def _train_in(folder, config, start_up, quick_evaluator):
    """Train in the locked ``folder``: --fresh, the data, the conditioning, then the steps, rolled
    back and retried when training diverges and --on-nan rollback asks for it."""
    if config.fresh:
        for what, moved in (("checkpoint", folder.move_aside()),
                            ("output", run_folder.move_output_aside(config.output_dir))):
            start_up.moved_aside(moved)
            if moved:
                print("--fresh: moved the previous %s to %s" % (what, moved))
    folder.repair(config.keep)
    train_images, train_classes = data.load_split(config.data_dir, "train",
                                                  dataset=config.dataset)
    # Before any graph: the label the pipeline draws beside each digit, its class or its
    # k-means group (--clusters), or none.
    conditioning = conditioning_lib.of(config)
    train_labels = conditioning.prepare(config.checkpoint_dir, train_images, train_classes,
                                        config.seed)
    for rollbacks in range(MAX_ROLLBACKS + 1):
        try:
            return _train_from_newest_checkpoint(config, train_images, train_labels,
                                                 conditioning, quick_evaluator, start_up)
        except Diverged as diverged:
            last = folder.newest()
            last_good = ("the last good checkpoint (step %d)" % checkpoints.step_in_path(last)
                         if last else None)
            good = last_good + " is intact" if last else "there is no earlier checkpoint"
            if config.on_nan != "rollback":
                raise GanError("%s; nothing was saved from it and %s. Lower --lr-d/--lr-g, "
                               "or pass --on-nan rollback" % (diverged, good))
            if rollbacks == MAX_ROLLBACKS:
                raise GanError("%s again after %d rollbacks; giving up (%s)"
                               % (diverged, MAX_ROLLBACKS, good))
            config = dataclasses.replace(config, lr_d=config.lr_d / 2, lr_g=config.lr_g / 2)
            print("%s; rolling back (%s), learning rates halved to lr_d=%g lr_g=%g"
                  % (diverged, last_good or "to the start", config.lr_d, config.lr_g))


def _train_from_newest_checkpoint(config, train_images, train_labels, conditioning,
                                  quick_evaluator, start_up):
    tg = build_training_graph(config, len(train_images), conditioning)
    computes_in = precision.describe(config.precision)
    if computes_in:
        print(computes_in)
    threads = ARCHITECTURES[config.arch].intra_op_threads  # the MLPs run faster on one
    with start_session(tg, train_images, session_config(threads), train_labels) as session:
        step = checkpoints.restore(session, tg.saver, config.checkpoint_dir)
        if step:
            print("resumed from step %d%s" % (step, _which_recipe(config)))
        config_lib.save(config, config.checkpoint_dir)
        if step >= config.step_limit:
            print("the checkpoint is already at step %d (--steps %d): nothing to do"
                  % (step, config.steps))
            return 0
        return _Loop(config, tg, session, _evaluator_if_needed(config, step, quick_evaluator),
                     start_up).run(step)


def _which_recipe(config):
    """' (recipe best, from checkpoints/config.json)' where a folder resumes a recipe other than
    the default, so that a bare ``train.py --steps N`` says what it carries on."""
    saved = os.path.join(config.checkpoint_dir, config_lib.CONFIG_FILE)
    if config.recipe == DEFAULT_RECIPE or not os.path.exists(saved):
        return ""
    return " (recipe %s, from %s)" % (config.recipe, saved)


def _evaluator_if_needed(config, step, quick_evaluator):
    """The quick evaluator, only when this run will reach an evaluation step (with
    --classifier-dir it may have to train that classifier first, a couple of minutes once)."""
    every = config.eval_every
    if not quick_evaluator or not every or (step // every + 1) * every > config.step_limit:
        return None
    return quick_evaluator(config)


class _Loop:
    """The step loop and what happens on step boundaries: logs, grids, evaluation, saves."""

    def __init__(self, config, tg, session, evaluator, start_up):
        self.config, self.tg, self.session, self.evaluator = config, tg, session, evaluator
        self.start_up = start_up
        noise, labels, self.grid_columns = grid_inputs(config, tg.conditioning)
        self.grid_feed = self.feed(noise, labels)
        if evaluator:
            eval_noise = pipeline.noise(evaluator.n, config.z_dim,
                                        config.seed + EVAL_NOISE_SEED_OFFSET)
            # Conditional: every class equally often, so label accuracy covers all ten.
            self.eval_labels = tg.conditioning.user_labels(evaluator.n)
            self.eval_feed = self.feed(eval_noise, None if self.eval_labels is None
                                       else conditioning_lib.one_hot(self.eval_labels))
        self.best_fid = checkpoints.best_fid(config.checkpoint_dir)
        self.names = list(tg.logged[gan.Phase.TRAIN])
        self.logged = {phase: [tensors[n] for n in self.names]
                       for phase, tensors in tg.logged.items()}
        self.status = {}
        self.started = set()  # the kinds of step run so far (see run_step)
        tg.graph.finalize()  # nothing may add ops inside the loop (a classic TF1 slowdown)

    def run_step(self, fetches, kind):
        """session.run of a step; the first run of each kind (phase) with grappler's note on a
        skipped rewrite dropped from stderr (tf_compat.GRAPPLER_NOISE)."""
        if kind in self.started:
            return self.session.run(fetches)
        self.started.add(kind)
        with without_native_noise(GRAPPLER_NOISE):
            return self.session.run(fetches)

    def run(self, step):
        config, session = self.config, self.session
        self.log = MetricsLog(config.output_dir, session.graph, resume_step=step)
        self.bar = Progress(config, step)
        if step == 0:
            self.write_grid(0)  # the untrained generator, for comparison
        saved_at = sampled_at = first_step = step
        start_time = time.time()
        deadline = start_time + config.minutes * 60 if config.minutes else float("inf")
        try:
            with _StopRequest() as stop, LOOP_CLOCK:
                while (step < config.step_limit and stop.signum is None
                       and time.time() < deadline):
                    # The step: D's update, then G's against the updated D (gan.Phase.TRAIN),
                    # or the R1 or D-only step gan.PHASES gives this step.
                    phase = gan.phase_for_step(self.tg.train_spec, step)
                    d_then_g = self.tg.ops.steps[phase]
                    log_now = (step + 1) % config.log_every == 0 or step + 1 == config.steps
                    # Every step fetches the logged scalars (the step computes them anyway), so
                    # each phase has one executor: a logged step does not pay grappler again.
                    values = self.run_step([d_then_g] + self.logged[phase], phase)[1:]
                    step += 1
                    if step == first_step + 1:  # from now on Ctrl-C saves, and undoes nothing
                        self.start_up.started()
                    self.bar.advance(step, gan.pretrains(phase))
                    if log_now:
                        self.record(step, dict(zip(self.names, values)))
                    if self.evaluator and step % config.eval_every == 0:
                        self.quick_evaluation(step)
                    if step % config.sample_every == 0:
                        self.write_grid(step)
                        sampled_at = step
                    if step % config.checkpoint_every == 0:
                        self.save(step)
                        saved_at = step
            if stop.signum is not None and step == first_step:
                raise KeyboardInterrupt  # before the first step: train() undoes the start-up
            if sampled_at != step:
                self.write_grid(step)
            if saved_at != step:
                self.save(step)
        finally:
            self.bar.close()
            self.log.close()
        rate = (step - first_step) / max(time.time() - start_time, 1e-9)
        if stop.signum is not None:
            print("stopped at step %d; checkpoint saved in %s. Run the same command to resume."
                  % (step, config.checkpoint_dir))
            return 128 + stop.signum
        if step < config.step_limit:
            print("time budget of %g minutes used up at step %d (%.1f steps/s); checkpoint saved "
                  "in %s. Run the same command to continue." % (config.minutes, step, rate,
                                                                config.checkpoint_dir))
            return 0
        if self.best_fid is not None:
            print("best quick FID so far: %.2f (checkpoint best.ckpt in %s)"
                  % (self.best_fid, config.checkpoint_dir))
        print("done: step %d (%.1f steps/s); checkpoint in %s, samples in %s"
              % (step, rate, config.checkpoint_dir, config.output_dir))
        return 0

    def record(self, step, values):
        bad = [title for name, title in (("d_loss", "the D loss"), ("g_loss", "the G loss"))
               if not np.isfinite(values[name])]
        if bad:
            raise Diverged(step, " and ".join(bad))
        self.log.scalars(step, **values)
        self.status.update(values)
        self.bar.status(_status_line(self.status))

    def check_weights(self, step):
        """Before anything is written from the current weights: are they all finite?"""
        if not self.session.run(self.tg.all_finite):
            raise Diverged(step, "the weights")

    def feed(self, noise, labels):
        """The feed dict that asks the sampling generator for ``noise`` (and one-hot labels)."""
        feed = {self.tg.sample_z: noise}
        if labels is not None:
            feed[self.tg.sample_labels] = labels
        return feed

    def write_grid(self, step):
        self.check_weights(step)
        grid = images.grid(self.session.run(self.tg.samples, self.grid_feed), self.grid_columns)
        images.save_png(os.path.join(self.config.output_dir, "samples_step_%06d.png" % step),
                        grid)
        self.log.image("samples", grid, step)

    def save(self, step):
        self.check_weights(step)
        checkpoints.save(self.session, self.tg.saver, self.config.checkpoint_dir, step,
                         keep=self.config.keep)

    def quick_evaluation(self, step):
        self.check_weights(step)
        digits = data.to_uint8(self.session.run(self.tg.samples, self.eval_feed))
        scores = self.evaluator.quick(digits, self.eval_labels)
        self.log.scalars(step, **scores)
        self.status.update(scores)
        self.bar.status(_status_line(self.status))
        if self.best_fid is None or scores["fid"] < self.best_fid:
            self.best_fid = scores["fid"]
            checkpoints.save_best(self.session, self.tg.best_saver, self.config.checkpoint_dir,
                                  step, self.best_fid)


def _status_line(values):
    line = "D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f" % (
        values["d_loss"], values["g_loss"], values["d_real"], values["d_fake"])
    if "fid" in values:
        line += "  FID %.1f  IS %.2f" % (values["fid"], values["inception_score"])
    if "label_accuracy" in values:
        line += "  label acc %.3f" % values["label_accuracy"]
    return line
