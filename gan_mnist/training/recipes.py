"""Recipes: named sets of Config values, so that the best settings are one flag.

The seed recipes are the networks of the tutorials this project started from, each with its
own defaults (``PRESETS``, keyed by ``--arch``, read from the architecture records);
``--arch X`` alone means ``--recipe X``. The other recipes name an architecture and the techniques measured to pay on it (docs/results.md).
Precedence: a typed flag > the checkpoint's config.json > the recipe > the Config default.
"""
from gan_mnist.core.architectures import ARCHITECTURES

DEFAULT_RECIPE = "fc"  # the classic fully connected GAN, as the project's design card says

# Each architecture's defaults live in its record (gan_mnist.core.architectures).
PRESETS = {name: architecture.presets for name, architecture in ARCHITECTURES.items()}

RECIPES = dict({arch: dict(arch=arch) for arch in PRESETS}, **{
    # The best unconditional digits per CPU-minute: self-conditioning on 160 k-means groups,
    # spectral norm in D, Adam beta1 0 at 4x fast's learning rates, EMA of G (docs/results.md:
    # FID 1.32 / 1.54 in 15 minutes and 3.25 / 2.93 in 2, 2 seeds; at 2e-4, 1.43 / 1.48 and
    # 7.79 / 9.78; 80 groups gave 2.11 / 1.72, 40 groups 2.92 / 2.89).
    # precision auto: bfloat16 convolutions where the CPU has them: 1.13x to 1.33x the steps,
    # the same FID after 2, 5 and 15 minutes on 2 seeds.
    "best": dict(arch="fast", clusters=160, spectral_norm=True, beta1=0.0, lr_d=8e-4,
                 lr_g=8e-4, ema=0.999, precision="auto"),
    # The best digits on demand: class labels, each class split into 16 k-means groups, with
    # best's optimiser (docs/conditional.md: FID 1.43 / 1.50, label accuracy 99.44% / 99.46%
    # in 15 minutes, 2 seeds; labels alone at fast's optimiser gave 2.01 / 1.99, 98.9%).
    "best-conditional": dict(arch="fast", conditional=True, clusters=160, spectral_norm=True,
                             beta1=0.0, lr_d=8e-4, lr_g=8e-4, ema=0.999),
})


def recipe_values(name, arch=None):
    """The Config values recipe ``name`` sets: its architecture's presets, then its own.
    ``arch``: a typed --arch, which takes the place of the recipe's."""
    recipe = RECIPES[name]
    arch = arch or recipe["arch"]
    return dict(PRESETS[arch], **dict(recipe, arch=arch))
