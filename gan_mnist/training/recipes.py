"""The recipes, one table: each row names its architecture and every value it sets, as
stylegan2-ada's ``cfg_specs`` does, so that the best settings are one flag (``--recipe NAME``).

The first five are the tutorials this project started from, each named after its networks
(gan_mnist.core.architectures) with the settings its tutorial used: ``--arch X`` alone means
``--recipe X``. The others take an architecture and add the techniques measured to pay on it
(docs/results.md, docs/conditional.md). Precedence: a typed flag > the checkpoint's config.json >
the recipe > the Config default.
"""
DEFAULT_RECIPE = "fc"  # the classic fully connected GAN, as the project's design card says

RECIPES = {
    # The fully connected GAN of the TF1 tutorials (gan_mnist/classic.py).
    "fc": dict(arch="fc", z_dim=100, hidden=128, batch_size=128, lr_d=2e-4, lr_g=2e-4,
               beta1=0.5, label_smoothing=0.1, d_pretrain_steps=0),
    # Two hidden layers of 256 at batch 32.
    "mlp256": dict(arch="mlp256", z_dim=64, hidden=256, batch_size=32, lr_d=2e-4, lr_g=2e-4,
                   beta1=0.5, label_smoothing=0.1, d_pretrain_steps=0),
    # TensorFlow's DCGAN tutorial: Adam 1e-4 with its default beta1, no label smoothing.
    "dcgan": dict(arch="dcgan", z_dim=100, hidden=0, batch_size=64, lr_d=1e-4, lr_g=1e-4,
                  beta1=0.9, label_smoothing=0.0, d_pretrain_steps=0),
    # The convolutional MNIST GAN tutorial: a 56x56 generator, 300 D-only steps first.
    "cnn": dict(arch="cnn", z_dim=100, hidden=0, batch_size=50, lr_d=3e-4, lr_g=1e-4,
                beta1=0.9, label_smoothing=0.0, d_pretrain_steps=300),
    # A small DCGAN-style pair tuned for quality per CPU-minute; hidden is its channel width.
    "fast": dict(arch="fast", z_dim=64, hidden=64, batch_size=64, lr_d=2e-4, lr_g=2e-4,
                 beta1=0.5, label_smoothing=0.0, d_pretrain_steps=0),
    # The best unconditional digits per CPU-minute: fast's networks conditioned on 160 k-means
    # groups of the digits (no labels), spectral norm in D, Adam beta1 0 at 4x fast's learning
    # rates, and G's moving average; bfloat16 convolutions where the CPU has them.
    "best": dict(arch="fast", z_dim=64, hidden=64, batch_size=64, lr_d=8e-4, lr_g=8e-4,
                 beta1=0.0, label_smoothing=0.0, d_pretrain_steps=0, clusters=160,
                 spectral_norm=True, ema=0.999, precision="auto"),
    # The best digits on demand: class labels, each class split into 16 k-means groups, with
    # best's optimiser.
    "best-conditional": dict(arch="fast", z_dim=64, hidden=64, batch_size=64, lr_d=8e-4,
                             lr_g=8e-4, beta1=0.0, label_smoothing=0.0, d_pretrain_steps=0,
                             conditional=True, clusters=160, spectral_norm=True, ema=0.999),
}


def recipe_values(name, arch=None):
    """The Config values recipe ``name`` sets. ``arch``: a typed --arch in the place of the
    recipe's: that architecture's own recipe, with what ``name`` sets beyond its own
    architecture's recipe (best on fc's networks: fc's sizes, best's techniques and optimiser)."""
    recipe = RECIPES[name]
    if not arch or arch == recipe["arch"]:
        return dict(recipe)
    base = RECIPES[recipe["arch"]]
    beyond = {k: v for k, v in recipe.items() if k != "arch" and base.get(k) != v}
    return dict(RECIPES[arch], **beyond)
