"""Hyper-parameters: one dataclass, the recipe presets, and config.json beside the checkpoints.

Precedence when a run starts: a flag the user typed > the saved config.json (when resuming) >
the recipe's preset > the dataclass default.
"""
import dataclasses
import json
import os

from gan_mnist import GanError, atomic_write

CONFIG_FILE = "config.json"

# Each recipe's defaults live here and nowhere else. Keys are Config field names.
# fc: the classic fully connected GAN tutorials; mlp256: two hidden layers of 256 at batch 32;
# dcgan: TensorFlow's DCGAN tutorial (Adam 1e-4 with default beta1, no label smoothing);
# cnn: the convolutional MNIST GAN tutorial with a 56x56 generator and D pre-training.
PRESETS = {
    "fc": dict(z_dim=100, hidden=128, batch_size=128, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
               label_smoothing=0.1, d_pretrain_steps=0),
    "mlp256": dict(z_dim=64, hidden=256, batch_size=32, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
                   label_smoothing=0.1, d_pretrain_steps=0),
    "dcgan": dict(z_dim=100, hidden=0, batch_size=64, lr_d=1e-4, lr_g=1e-4, beta1=0.9,
                  label_smoothing=0.0, d_pretrain_steps=0),
    "cnn": dict(z_dim=100, hidden=0, batch_size=50, lr_d=3e-4, lr_g=1e-4, beta1=0.9,
                label_smoothing=0.0, d_pretrain_steps=300),
    # fast: a small DCGAN-style pair tuned for quality per CPU-minute; hidden is its channel width.
    "fast": dict(z_dim=64, hidden=64, batch_size=64, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
                 label_smoothing=0.0, d_pretrain_steps=0),
}

# Fields that decide the shapes of the saved variables: a checkpoint only fits a model that agrees
# on all of them.
ARCHITECTURE_FIELDS = ("arch", "dataset", "z_dim", "hidden", "conditional", "clusters")


@dataclasses.dataclass
class Config:
    arch: str = "fc"
    dataset: str = "mnist"
    steps: int = 100000
    minutes: float = 0.0  # a time budget for this invocation (0: none); never carried over
    batch_size: int = 128
    z_dim: int = 100
    hidden: int = 128
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    beta1: float = 0.5
    label_smoothing: float = 0.1
    d_pretrain_steps: int = 0
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 100
    eval_every: int = 5000
    classifier_dir: str = ""
    data_dir: str = ""  # empty: the dataset's default folder (see data.default_data_dir)
    checkpoint_dir: str = "checkpoints"
    output_dir: str = "output"
    seed: int = 0
    fresh: bool = False
    keep: int = 5
    on_nan: str = "stop"
    ema: float = 0.0  # decay of the moving average of G's weights used for samples (0: off)
    loss: str = "ns"  # ns (non-saturating) or hinge
    spectral_norm: bool = False  # divide D's weights by their largest singular value
    r1: float = 0.0  # gamma of the R1 gradient penalty on real digits (0: off)
    r1_every: int = 16  # lazy R1: the penalty (times this) on every r1_every-th D step
    conditional: bool = False  # G and D see the class label (shapes the model)
    clusters: int = 0  # G and D see a k-means cluster of the digits instead (0: off; shapes it)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Config))


def resolve(explicit, saved=None):
    """Build the Config for a run.

    ``explicit`` holds only the values the user typed; ``saved`` is the checkpoint's config.json
    (or None). Refuses an explicit architecture value that contradicts the saved one, because its
    variables could not be restored.
    """
    unknown = set(explicit) - set(FIELD_NAMES)
    if unknown:
        raise ValueError("unknown config fields: %s" % ", ".join(sorted(unknown)))
    saved = dict(saved or {})
    if saved:
        for name in ARCHITECTURE_FIELDS:
            # A field missing from an older config.json had its default value then.
            held = saved.get(name, getattr(Config, name))
            if name in explicit and explicit[name] != held:
                raise GanError(
                    "the checkpoint folder holds a model with %s=%s but you asked for %s=%s; "
                    "use --fresh to start over there, or another --checkpoint-dir"
                    % (name, held, name, explicit[name]))
        if ("spectral_norm" in explicit
                and explicit["spectral_norm"] != saved.get("spectral_norm", False)):
            raise GanError(
                "the checkpoint folder holds a model trained %s --spectral-norm, and its "
                "discriminator only makes sense that way; use --fresh to start over there, or "
                "another --checkpoint-dir" % ("with" if saved.get("spectral_norm") else "without"))
        if "ema" in explicit and bool(explicit["ema"]) != bool(saved.get("ema", 0)):
            raise GanError(
                "the checkpoint folder holds a model trained %s --ema, so its weights' moving "
                "average %s; use --fresh to start over there, or another --checkpoint-dir"
                % (("with", "cannot be turned off") if saved.get("ema") else
                   ("without", "does not exist")))
    arch = explicit.get("arch", saved.get("arch", Config.arch))
    if arch not in PRESETS:
        raise GanError("unknown --arch %r; choose one of: %s" % (arch, ", ".join(sorted(PRESETS))))
    if explicit.get("hidden") and not PRESETS[arch]["hidden"]:
        raise GanError("--hidden sizes the fully connected recipes (fc, mlp256) and the width of "
                       "fast; --arch %s has its own fixed layer sizes" % arch)
    values = dict(PRESETS[arch])
    # Only what shapes the model, and the run's settings, carry over from the saved config; the
    # folders and --steps of this invocation are always this invocation's.
    carried = ARCHITECTURE_FIELDS + ("batch_size", "lr_d", "lr_g", "beta1", "label_smoothing",
                                     "d_pretrain_steps",
                                     "seed", "log_every", "sample_every", "checkpoint_every",
                                     "eval_every", "keep", "on_nan", "ema", "loss", "spectral_norm",
                                     "r1", "r1_every")
    values.update({k: v for k, v in saved.items() if k in carried})
    values.update(explicit)
    config = Config(**values)
    if config.clusters == 1 or config.clusters < 0:
        raise GanError("--clusters %d: split the digits into at least 2 clusters, or pass 0 for "
                       "none" % config.clusters)
    if config.clusters and config.conditional:
        raise GanError("--clusters stands in for the labels of a --conditional model; use one "
                       "or the other")
    if config.clusters and config.z_dim < 2:
        raise GanError("--clusters uses the first noise coordinate to pick a cluster, so it "
                       "needs --z-dim 2 or more")
    return config


def load_saved(checkpoint_dir):
    """The config.json in ``checkpoint_dir`` as a dict, or None when there is none."""
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
    return {k: v for k, v in saved.items() if k in FIELD_NAMES}


def save(config, checkpoint_dir):
    """Write config.json atomically (temporary file, then rename), so it is never half-written."""
    path = os.path.join(checkpoint_dir, CONFIG_FILE)
    with atomic_write(path) as f:
        f.write(config.to_json())
