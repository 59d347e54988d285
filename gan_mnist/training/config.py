"""Hyper-parameters: every field declared once, with what the command line and a resume need.

Each ``Config`` field carries its help text, how a typed value is checked, its choices, and its
*kind*: fixed by the checkpoint (``MODEL``: the saved variables only fit a model that agrees),
carried over when a run resumes (``CARRIED``), or this invocation's only (``INVOCATION``). The
train command's parser, ``resolve()``, sweeps and ``docs/flags.md`` are all made from these
declarations (see ``gan_mnist.commands.train`` and ``gan_mnist.commands.flags_doc``).

Precedence when a run starts: a flag the user typed > the saved config.json (when resuming) >
the recipe (``gan_mnist.training.recipes``) > the dataclass default.
"""
import dataclasses
import json
import os
from typing import Optional

from gan_mnist.errors import GanError
from gan_mnist.files import atomic_write
from gan_mnist.training.checks import (at_least, between, non_negative_int, positive_float,
                                       positive_int)
from gan_mnist.core.data import DATASETS
from gan_mnist.core.precision import CHOICES as PRECISIONS
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.training.recipes import DEFAULT_RECIPE, RECIPES, recipe_values

CONFIG_FILE = "config.json"
MODEL, CARRIED, INVOCATION = "model", "carried", "invocation"
KINDS = {MODEL: "fixed by the checkpoint", CARRIED: "kept on resume unless typed again",
         INVOCATION: "this run only"}


def _field(default, kind, help, check=None, choices=None, preset=False):
    """A Config field and its declaration. ``check`` turns typed text into a value or refuses
    it; ``preset``: the recipe decides the default (see gan_mnist.training.recipes)."""
    return dataclasses.field(default=default, metadata=dict(
        kind=kind, help=help, check=check, choices=choices, preset=preset))


@dataclasses.dataclass
class Config:
    recipe: str = _field(
        DEFAULT_RECIPE, MODEL, "a named set of defaults for any of these fields; an explicit "
        "flag still wins; a folder resumes only with its own recipe", choices=tuple(RECIPES))
    arch: str = _field("fc", MODEL, "the networks (see the recipes table in the README); "
                       "alone, --arch X means --recipe X", choices=tuple(ARCHITECTURES))
    dataset: str = _field("mnist", MODEL, "training data", choices=tuple(DATASETS))
    steps: int = _field(
        100000, INVOCATION, "train until the global step reaches N (at least 1); with "
        "--minutes and no --steps, there is no step limit", check=positive_int)
    minutes: float = _field(
        0.0, INVOCATION, "stop after M minutes of training (more than 0), saving a checkpoint "
        "(a time budget for this run; running again continues)", check=positive_float)
    batch_size: int = _field(128, CARRIED, "images per step", check=positive_int, preset=True)
    z_dim: int = _field(100, MODEL, "noise size", check=positive_int, preset=True)
    hidden: int = _field(
        128, MODEL, "hidden units of fc and mlp256; channel width of fast; the other recipes "
        "have fixed layer sizes", check=positive_int, preset=True)
    lr_d: float = _field(2e-4, CARRIED, "discriminator Adam learning rate", check=positive_float,
                         preset=True)
    lr_g: float = _field(2e-4, CARRIED, "generator Adam learning rate", check=positive_float,
                         preset=True)
    beta1: float = _field(0.5, CARRIED, "Adam beta1", check=between(0.0, 1.0), preset=True)
    label_smoothing: float = _field(
        0.1, CARRIED, "real labels become 1 - s (ns loss only)", check=between(0.0, 1.0),
        preset=True)
    d_pretrain_steps: int = _field(
        0, CARRIED, "the first N steps train only the discriminator", check=non_negative_int,
        preset=True)
    sample_every: int = _field(500, CARRIED, "write the fixed-noise grid every N steps",
                               check=positive_int)
    checkpoint_every: int = _field(
        1000, CARRIED, "save every N steps, and always at the end and on Ctrl-C",
        check=positive_int)
    log_every: int = _field(100, CARRIED, "log losses and scores every N steps",
                            check=positive_int)
    eval_every: int = _field(
        5000, CARRIED, "quick FID and Inception Score on 2,000 samples every N steps, keeping "
        "the best-FID checkpoint as best.ckpt; 0 turns it off", check=non_negative_int)
    classifier_dir: Optional[str] = _field(
        None, INVOCATION, "train (once) or use the evaluation classifier in this folder instead "
        "of the one shipped with the package")
    data_dir: Optional[str] = _field(
        None, INVOCATION, "data folder (default: MNIST $MNIST_DATA_DIR or MNIST_data/; "
        "Fashion-MNIST $FASHION_MNIST_DATA_DIR, /usr/share/datasets/fashion-mnist or "
        "MNIST_data/fashion/)")
    checkpoint_dir: str = _field("checkpoints", INVOCATION, "checkpoint folder; the same "
                                 "folder again resumes")
    output_dir: str = _field("output", INVOCATION, "samples and logs folder")
    seed: int = _field(0, CARRIED, "makes a run repeatable on CPU", check=non_negative_int)
    fresh: bool = _field(False, INVOCATION, "start over: move an existing checkpoint, and the "
                         "old run's grids, logs and figures in the output folder, aside instead "
                         "of resuming")
    keep: int = _field(5, CARRIED, "how many of the newest checkpoints to keep",
                       check=positive_int)
    on_nan: str = _field(
        "stop", CARRIED, "when a loss or weight becomes NaN/Inf: stop, or roll back to the last "
        "good checkpoint with both learning rates halved", choices=("stop", "rollback"))
    ema: float = _field(
        0.0, CARRIED, "keep a moving average of G's weights with this decay (e.g. 0.999) and "
        "draw every grid, sample, evaluation and export from it; 0 is off (on or off is fixed "
        "by the checkpoint)", check=between(0.0, 1.0))
    loss: str = _field("ns", CARRIED, "ns: non-saturating, hinge: hinge loss (no label "
                       "smoothing)", choices=("ns", "hinge"))
    spectral_norm: bool = _field(
        False, MODEL, "divide each of D's weight matrices by its largest singular value (power "
        "iteration, one step per training step)")
    r1: float = _field(0.0, CARRIED, "R1 gradient penalty on real digits with this gamma "
                       "(e.g. 1); 0 is off", check=at_least(0.0))
    r1_every: int = _field(16, CARRIED, "lazy R1: apply the penalty, scaled by K, on every "
                           "K-th D step", check=positive_int)
    conditional: bool = _field(
        False, MODEL, "G and D see the class label, so sample.py --label can ask for a digit")
    precision: str = _field(
        "float32", CARRIED, "what G's and D's convolutions compute in while training; auto: "
        "bfloat16 where the CPU has AVX-512 BF16 or AMX (about 1.15x the steps of --recipe best), "
        "else float32; weights, losses and sampling stay float32",
        choices=PRECISIONS)
    clusters: int = _field(
        0, MODEL, "self-conditioning: split the training digits into K groups by k-means on "
        "their pixels (no labels) and condition G and D on the group; sampling picks groups "
        "as often as they occur; with --conditional, K/10 groups within each class; 0 is off",
        check=between(0, 256, int))

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def model_spec(self):
        """What G and D are (gan_mnist.core.gan.ModelSpec): the fields that shape them."""
        from gan_mnist.core.gan import ModelSpec

        return ModelSpec(self.arch, self.z_dim, self.hidden, self.spectral_norm, self.precision)

    def train_spec(self):
        """How G and D learn (gan_mnist.core.gan.TrainSpec)."""
        from gan_mnist.core.gan import TrainSpec

        return TrainSpec(self.loss, self.label_smoothing, self.r1, self.r1_every, self.lr_d,
                         self.lr_g, self.beta1, self.ema, self.d_pretrain_steps)

    @property
    def step_limit(self):
        """The step a run stops at, or infinity for a time budget with no step limit."""
        return self.steps or float("inf")


FIELDS = dataclasses.fields(Config)
FIELD_NAMES = tuple(f.name for f in FIELDS)
MODEL_FIELDS = tuple(f.name for f in FIELDS if f.metadata["kind"] == MODEL)
CARRIED_FIELDS = tuple(f.name for f in FIELDS if f.metadata["kind"] != INVOCATION)
# What a field missing from an older config.json was then: its default (a recipe's preset
# fields and the recipe itself, missing, are the architecture's, as resolve reads them).
OLDER_FOLDERS_DEFAULTS = {f.name: f.default for f in FIELDS if f.name in CARRIED_FIELDS
                          and f.name != "recipe" and not f.metadata["preset"]}
# Fields that decide the shapes of the saved variables (the recipe only names them).
ARCHITECTURE_FIELDS = tuple(n for n in MODEL_FIELDS if n not in ("recipe", "spectral_norm"))


def flag_name(field_name):
    return "--" + field_name.replace("_", "-")


def check_values(values):
    """Hold values given in Python (gan_mnist.api.train) to the checks train.py's parser applies
    to typed ones, and return them as the parser would (``steps=2000.0`` becomes 2000); a bad
    one raises ValueError with the sentence the command prints. Numbers must be numbers: the
    string "2000" is refused, as Python's own functions refuse it."""
    import argparse
    import numbers

    import numpy as np

    fields = {f.name: f for f in FIELDS}
    checked = {}
    for name, value in values.items():
        if name not in fields:
            raise ValueError("unknown flag %s; train.py has: %s" % (
                flag_name(name), ", ".join(flag_name(n) for n in FIELD_NAMES)))
        meta, kind, flag = fields[name].metadata, fields[name].type, flag_name(name)
        if kind is bool and not isinstance(value, bool):
            raise ValueError("argument %s: expected True or False, got %r" % (flag, value))
        if meta["choices"] and value not in meta["choices"]:
            raise ValueError("argument %s: invalid choice: %r (choose from %s)" % (
                flag, value, ", ".join(map(repr, meta["choices"]))))
        if meta["check"]:
            # numbers.Real: Python's and NumPy's numbers alike (np.int64(2000) is a number)
            number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            if not number or (kind is int and not float(value).is_integer()):
                raise ValueError("argument %s: expected %s, got %r" % (
                    flag, "an integer" if kind is int else "a number", value))
            try:
                value = meta["check"](value)
            except argparse.ArgumentTypeError as e:
                raise ValueError("argument %s: %s" % (flag, e)) from None
        checked[name] = value
    return checked


ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")  # a switch's value as text


def flags():
    """Each train flag's name (without dashes) and whether it takes a value: what sweeps need."""
    return {flag_name(f.name)[2:]: f.type is not bool for f in FIELDS}


def from_text(flag, text):
    """The value of the train flag ``flag`` (its name without dashes) written as ``text``, as
    train.py's parser reads it: a switch from on/off words, a choice, a checked number, else
    the text. A bad one raises ValueError with the sentence the command prints."""
    import argparse

    field = {f.name: f for f in FIELDS}[flag.replace("-", "_")]
    meta, name = field.metadata, flag_name(field.name)
    if field.type is bool:
        if text.lower() not in ON + OFF:
            raise ValueError("argument %s: expected on or off, got %r" % (name, text))
        return text.lower() in ON
    if meta["choices"] and text not in meta["choices"]:
        raise ValueError("argument %s: invalid choice: %r (choose from %s)" % (
            name, text, ", ".join(map(repr, meta["choices"]))))
    if meta["check"]:
        try:
            return meta["check"](text)
        except argparse.ArgumentTypeError as e:
            raise ValueError("argument %s: %s" % (name, e)) from None
    return text


def _why_fixed(name, held):
    """Why a model field cannot change on resume, when the plain 'holds a model with' says too
    little."""
    if name == "spectral_norm":
        return ("the checkpoint folder holds a model trained %s --spectral-norm, and its "
                "discriminator only makes sense that way" % ("with" if held else "without"))
    return None


def _typed_recipe(explicit):
    """The recipe the user typed, as (flag, name): ``--recipe X``, or ``--arch X`` alone, which
    is a spelling of ``--recipe X``; None when neither was typed."""
    if "recipe" in explicit:
        return "--recipe", explicit["recipe"]
    if "arch" in explicit:
        return "--arch", explicit["arch"]
    return None


def _check_against_saved(explicit, saved, checkpoint_dir):
    """Refuse what contradicts the folder's model: another recipe typed, or a typed flag whose
    value differs from a model field's saved one (its variables could not be restored)."""
    typed, held = _typed_recipe(explicit), saved["recipe"]
    if typed and typed[1] != held:
        trained = "--recipe %s" % held
        if saved.get("arch", held) != RECIPES.get(held, {}).get("arch", held):  # --arch typed too
            trained += " --arch %s" % saved["arch"]
        raise GanError("%s holds a %s run, not %s %s: a folder's recipe is fixed. Resume it "
                       "with %s (or no --recipe); for %s, use another --checkpoint-dir or --fresh"
                       % (checkpoint_dir, trained, typed[0], typed[1], trained, typed[1]))
    for name in MODEL_FIELDS:
        if name == "recipe" or name not in explicit:
            continue
        wanted = explicit[name]
        held_value = saved.get(name, getattr(Config, name))  # missing from an older config.json:
        if wanted != held_value:                              # it had the default then
            why = _why_fixed(name, held_value) or (
                "the checkpoint folder holds a model with %s=%s but you asked for %s=%s"
                % (name, held_value, name, wanted))
            raise GanError(why + "; use --fresh to start over there, or another --checkpoint-dir")
    ema = explicit.get("ema")
    if ema is not None and bool(ema) != bool(saved.get("ema", 0)):
        raise GanError(
            "the checkpoint folder holds a model trained %s --ema, so its weights' moving "
            "average %s; use --fresh to start over there, or another --checkpoint-dir"
            % (("with", "cannot be turned off") if saved.get("ema") else
               ("without", "does not exist")))


def upgrade(saved):
    """A config.json of any version as today's: its carried fields, a field an older file lacks
    at its default of the time (whatever the recipe says now), and the recipe of a folder made
    before recipes: its architecture. {} for none."""
    saved = {k: v for k, v in (saved or {}).items() if k in CARRIED_FIELDS}
    if not saved:
        return {}
    saved = dict(OLDER_FOLDERS_DEFAULTS, **saved)
    saved["recipe"] = saved.get("recipe") or saved["arch"]
    return saved


def resolve(explicit, saved=None):
    """Build the Config for a run.

    ``explicit`` holds only the values the user typed; ``saved`` is the checkpoint's config.json
    (or None). Refuses a typed recipe other than the folder's, and a typed value of a model
    field that contradicts the saved one, because its variables could not be restored.
    """
    unknown = set(explicit) - set(FIELD_NAMES)
    if unknown:
        raise ValueError("unknown config fields: %s" % ", ".join(sorted(unknown)))
    saved = upgrade(saved)
    for name, value in (("recipe", explicit.get("recipe")), ("arch", explicit.get("arch"))):
        if value is not None and value not in (RECIPES if name == "recipe" else ARCHITECTURES):
            raise GanError("unknown --%s %r; choose one of: %s" % (
                name, value, ", ".join(RECIPES if name == "recipe" else ARCHITECTURES)))
    # A folder's recipe is fixed: the same recipe typed again (or none) resumes it as it was
    # trained, even where the recipe has changed since ("run the same command to continue");
    # another recipe is refused, whatever fields it shares with the folder's.
    if saved:
        _check_against_saved(explicit, saved,
                             explicit.get("checkpoint_dir", Config.checkpoint_dir))
    name = (explicit.get("recipe") or saved.get("recipe") or explicit.get("arch")
            or saved.get("arch") or DEFAULT_RECIPE)
    arch = explicit.get("arch") or saved.get("arch")
    if explicit.get("hidden") and not RECIPES[arch or RECIPES[name]["arch"]]["hidden"]:
        raise GanError("--hidden sizes the fully connected recipes (fc, mlp256) and the width of "
                       "fast; --arch %s has its own fixed layer sizes"
                       % (arch or RECIPES[name]["arch"]))
    values = recipe_values(name, arch)
    values["recipe"] = name
    values.update(saved)
    values.update(explicit)
    if "minutes" in explicit and "steps" not in explicit:
        values["steps"] = 0  # a time budget alone: no step limit
    config = Config(**values)
    if config.clusters == 1 or config.clusters < 0:
        raise GanError("--clusters %d: split the digits into at least 2 clusters, or pass 0 for "
                       "none" % config.clusters)
    if config.clusters and config.conditional and (config.clusters % 10 or config.clusters < 20):
        raise GanError("--clusters %d: with --conditional each class is split into K/10 groups, "
                       "so K must be a multiple of 10, at least 20" % config.clusters)
    if config.clusters and config.z_dim < 2:
        raise GanError("--clusters uses the first noise coordinate to pick a cluster, so it "
                       "needs --z-dim 2 or more")
    return config


def load_saved(checkpoint_dir):
    """The config.json in ``checkpoint_dir`` as a dict, or None when there is none.

    A file that is not a JSON object, or that switches on a field this version does not know
    (a technique since removed), is refused with one line: guessing could resume the wrong
    model. Unknown fields that are off (false, 0, empty) are ignored."""
    path = os.path.join(checkpoint_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        raise GanError("cannot read %s (%s); fix or remove it, or use --fresh" % (path, e))
    if not isinstance(saved, dict):
        raise GanError("%s is not a JSON object; fix or remove it, or use --fresh" % path)
    unknown = sorted("%s=%s" % (k, json.dumps(v)) for k, v in saved.items()
                     if k not in FIELD_NAMES and v)
    if unknown:
        raise GanError("%s turns on settings this version does not know (%s); it was written by "
                       "another version or by hand: use that version, or --fresh"
                       % (path, ", ".join(unknown)))
    return {k: v for k, v in saved.items() if k in FIELD_NAMES}


def save(config, checkpoint_dir):
    """Write config.json atomically (temporary file, then rename), so it is never half-written."""
    path = os.path.join(checkpoint_dir, CONFIG_FILE)
    with atomic_write(path) as f:
        f.write(config.to_json())
