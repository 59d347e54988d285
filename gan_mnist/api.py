"""The package as functions, for a notebook or a program: train, evaluate, sample, draw figures.

Each call does what its command does (``train.py``, ``evaluate.py``, ``sample.py``, ``plot.py``)
and returns what a program needs next instead of printing it: the run's folders and step, the
evaluation report as a dict, the digits as an array. Nothing here knows any training code; it
sits on top of the trainer, the sampler and the evaluator, like the commands.

    from gan_mnist import api
    run = api.train(recipe="fc", steps=2000, checkpoint_dir="runs/fc", output_dir="runs/fc-out")
    run.grid                       # the newest fixed-noise grid (a PNG path)
    run = api.train(steps=4000, checkpoint_dir="runs/fc", output_dir="runs/fc-out")  # resumes
    report = api.evaluate("runs/fc", "runs/fc-out", n=2000)
    report["generated"]["fid"]
    digits = api.sample("runs/fc", n=16)   # uint8 (16, 28, 28)
"""
from __future__ import annotations

import dataclasses
import glob
import os
import signal
from typing import Iterable, NamedTuple, Optional, Sequence, Union

import numpy as np

from gan_mnist.training.run_folder import RunFolder
from gan_mnist.training import config as config_lib
from gan_mnist.evaluation.metrics import EVAL_N

__all__ = ["Run", "Samples", "train", "pretrained", "step_of", "newest_grid", "evaluate",
           "format_report", "sample", "generate", "write_png", "write_npy", "grid_png", "figures",
           "fid_against_minutes", "export", "check_web_tools", "web_page", "classify"]

# A class asked for: a number (any int kind), a digit string, a class name ("sneaker"), a comma
# list ("0,3,7"), or a sequence of those.
Label = Union[int, str, Sequence[Union[int, str]]]


@dataclasses.dataclass
class Run:
    """Where a training run lives and how far it got."""
    checkpoint_dir: str
    output_dir: str
    step: int
    status: int  # the command's exit status: 0 done or time used up, 128 + signal when stopped

    @property
    def grid(self) -> Optional[str]:
        """The newest fixed-noise grid, ``output_dir/samples_step_NNNNNN.png`` (None if none)."""
        return newest_grid(self.output_dir)

    @property
    def config(self) -> config_lib.Config:
        return config_lib.resolve({"checkpoint_dir": self.checkpoint_dir,
                                   "output_dir": self.output_dir},
                                  config_lib.load_saved(self.checkpoint_dir))


def pretrained(name: str) -> str:
    """The checkpoint folder of a generator shipped with the package (``"best"`` or
    ``"best-conditional"``), for sample, generate, evaluate and export: made in the cache folder
    on first use, with no training and no MNIST files. ``api.sample(api.pretrained("best"))``."""
    from gan_mnist.evaluation import pretrained as pretrained_lib

    return pretrained_lib.checkpoint_dir(name)


def step_of(checkpoint_dir: str) -> int:
    """The step of the newest checkpoint in ``checkpoint_dir`` (0 when there is none)."""
    return RunFolder(checkpoint_dir).step()


def newest_grid(output_dir: str) -> Optional[str]:
    grids = sorted(glob.glob(os.path.join(output_dir, "samples_step_*.png")))
    return grids[-1] if grids else None


def train(checkpoint_dir: str = "checkpoints", output_dir: str = "output", **flags) -> Run:
    """Train as ``train.py`` does with these flags (any Config field: ``recipe="best"``,
    ``minutes=1``, ``steps=2000``, ``seed=1`` ...), resuming what ``checkpoint_dir`` holds, and
    return the Run. Only the flags given here are explicit, exactly as if typed: the saved
    config.json and the recipe decide the rest. A bad value raises ValueError with the sentence
    train.py prints; a problem with files or folders raises GanError. Ctrl-C saves a checkpoint
    and then raises KeyboardInterrupt, so a loop of calls stops as its reader expects."""
    explicit = config_lib.check_values(
        dict(flags, checkpoint_dir=checkpoint_dir, output_dir=output_dir))
    status = train_flags(explicit)
    if status == 128 + signal.SIGINT:
        raise KeyboardInterrupt("stopped at step %d with a checkpoint saved in %s; the same call "
                                "resumes" % (step_of(checkpoint_dir), checkpoint_dir))
    return Run(checkpoint_dir, output_dir, step_of(checkpoint_dir), status)


def train_flags(explicit: dict) -> int:
    """Train with ``explicit``, the flags as typed (Config field -> value, ``checkpoint_dir``
    among them); the saved config.json and the recipe decide the rest. Returns the exit status
    (``train.py`` calls this)."""
    from gan_mnist.evaluation import pretrained

    pretrained.check_not_shipped(explicit["checkpoint_dir"])
    saved = None if explicit.get("fresh") else config_lib.load_saved(explicit["checkpoint_dir"])
    config = config_lib.resolve(explicit, saved)
    from gan_mnist.evaluation.evaluate import quick_evaluator
    from gan_mnist.training import trainer

    return trainer.train(config, quick_evaluator)


def evaluate(checkpoint_dir: str = "checkpoints", output_dir: str = "output", n: int = EVAL_N,
             seed: int = 0, data_dir: Optional[str] = None, classifier_dir: Optional[str] = None,
             samples: Optional[str] = None, dataset: Optional[str] = None) -> dict:
    """``evaluate.py``: score ``n`` digits of the newest checkpoint (or the digits of the .npy
    file ``samples``, as ``sample.py --npy`` writes them) against real ones of ``dataset``
    (default: the checkpoint's, or mnist), write evaluation.json and its figures into
    ``output_dir``, and return the report (a dict: its ``generated`` and ``real`` scores,
    ``step`` ...; the figures' paths under ``paths``)."""
    from gan_mnist.evaluation import report as report_lib

    if samples:
        digits, labels = report_lib.digits_of_file(samples)
        step, source, dataset = None, samples, dataset or "mnist"
    else:
        digits, labels, step, trained_on = report_lib.digits_of_checkpoint(checkpoint_dir, n, seed)
        source, dataset = checkpoint_dir, dataset or trained_on
    report, paths = report_lib.write(digits, output_dir, labels, step, source, dataset,
                                     classifier_dir, data_dir, seed)
    return dict(report, paths=paths)


def format_report(report: dict) -> str:
    """The table ``evaluate.py`` prints, for a report from ``evaluate``."""
    from gan_mnist.evaluation import evaluate as evaluate_lib

    return evaluate_lib.format_table({k: v for k, v in report.items() if k != "paths"})


class Samples(NamedTuple):
    """Digits drawn from a checkpoint."""
    digits: np.ndarray  # uint8 (n, 28, 28), 0 black ... 255 white
    labels: Optional[np.ndarray]  # the class of each, int64 (n,); None: unconditional
    step: int  # the checkpoint's


def sample(checkpoint_dir: str = "checkpoints", n: int = 64, seed: int = 0,
           label: Optional[Label] = None) -> np.ndarray:
    """``sample.py``: ``n`` digits as uint8 (n, 28, 28) from the newest checkpoint (its weights'
    average when the run kept one). ``label``: a class or a list of classes to draw in turn (a
    conditional model; by default all ten in turn)."""
    return generate(checkpoint_dir, n, seed, label).digits


def generate(checkpoint_dir: str = "checkpoints", n: int = 64, seed: int = 0,
             label: Optional[Label] = None) -> Samples:
    """``sample`` with the labels and the step: a Samples. ``label``: a class (any int, a digit
    string or a class name such as "sneaker"), or a list of them, drawn in turn."""
    from gan_mnist.core import data
    from gan_mnist.evaluation import sampling

    classes = None
    if label is not None:
        saved = config_lib.load_saved(checkpoint_dir) or {}
        classes = data.class_numbers(label, saved.get("dataset", "mnist"))
    digits, step, labels = sampling.generate(checkpoint_dir, n, seed, classes)
    return Samples(digits, labels, step)


def write_png(samples: Samples, path: str) -> str:
    """Samples as ``sample.py --png`` writes them: one grid; classes drawn in turn get one
    column each, so each column shows one class. Returns the path."""
    classes = len(set(samples.labels.tolist())) if samples.labels is not None else 0
    return grid_png(samples.digits, path, classes if classes > 1 else None)


def write_npy(samples: Samples, path: str) -> list:
    """Samples as ``sample.py --npy`` writes them: the digits in ``path``, their labels (if
    any) in ``NAME.labels.npy`` beside it, which ``evaluate(samples=path)`` reads. Returns the
    paths written."""
    from gan_mnist.evaluation import sampling

    np.save(path, samples.digits)
    if samples.labels is None:
        return [path]
    np.save(sampling.labels_path(path), samples.labels.astype("uint8"))
    return [path, sampling.labels_path(path)]


def figures(checkpoint_dir: str = "checkpoints", output_dir: str = "output",
            data_dir: Optional[str] = None) -> dict:
    """``plot.py``: every figure the run's logs and newest checkpoint allow (curves, progress,
    interpolation, real vs fake, nearest neighbours), as a dict name -> path."""
    from gan_mnist.files import check_writable
    from gan_mnist.evaluation import figures as figures_lib

    check_writable(output_dir, "output")
    paths = figures_lib.make_all(output_dir, checkpoint_dir, data_dir)
    return {os.path.splitext(os.path.basename(p))[0]: p for p in paths}


def fid_against_minutes(runs: Iterable, path: str = "fid_vs_minutes.png") -> str:
    """``plot.py --compare``: the quick FID of several runs against minutes of training, one
    line per (label, output folder) of ``runs``, in one figure; returns its path."""
    from gan_mnist.evaluation import figures as figures_lib

    return figures_lib.fid_against_minutes(runs, path)


def export(checkpoint_dir: str = "checkpoints", out: str = "generator",
           tflite: bool = False) -> tuple:
    """``export.py --out``: the newest checkpoint's generator as a SavedModel in ``out`` (a new
    folder), with generator.tflite in it when ``tflite``; returns (step, files written)."""
    from gan_mnist.export import saved_model

    return saved_model.export(checkpoint_dir, out, tflite)


def check_web_tools() -> None:
    """Raise GanError, saying what to install, when ``web_page`` could not run here."""
    from gan_mnist.export import web

    web.check_tools()


def web_page(checkpoint_dir: str = "checkpoints", out: str = "web-page") -> tuple:
    """``export.py --web``: a static page in ``out`` (a new folder) that runs the newest
    checkpoint's generator in the browser; returns (step, files written)."""
    from gan_mnist.export import web

    return web.write(checkpoint_dir, out)


def classify(digits: np.ndarray, dataset: str = "mnist") -> tuple:
    """What the shipped evaluation classifier reads in each digit (uint8 (N, 28, 28)): (the
    class, its probability), two arrays of N."""
    from gan_mnist.evaluation import classifier

    probs, _ = classifier.shipped(dataset).predict(digits)
    return probs.argmax(axis=1), probs.max(axis=1)


def grid_png(digits: np.ndarray, path: str, columns: Optional[int] = None) -> str:
    """Write digits (uint8 (N, 28, 28)) as one grid PNG, as ``sample.py --png`` does; returns
    the path."""
    from gan_mnist.training import images

    images.save_png(path, images.grid(digits, columns))
    return path
