"""``train.py`` / ``gan-mnist train``: its flags are the Config fields (gan_mnist.training.config)."""
import argparse

from gan_mnist.training import config as config_lib
from gan_mnist.commands.common import Parser, run
from gan_mnist.training.recipes import DEFAULT_RECIPE, RECIPES, recipe_values


def recipe_defaults(name):
    """Field ``name``'s value in each recipe, in RECIPES order."""
    return {recipe: recipe_values(recipe).get(name, getattr(config_lib.Config, name))
            for recipe in RECIPES}


def turned_on_by_a_recipe(field):
    """Whether some recipe switches ``field`` on, so that --no-X has something to turn off."""
    return any(recipe_defaults(field.name).values())


def describe_default(field):
    """'default 500', or, where recipes differ, the default recipe's value and the others'."""
    if field.name == "recipe":
        return "default %s" % field.default
    if field.name == "arch":
        return "default: the recipe's"
    if field.name == "minutes":
        return "default: no limit"
    values = recipe_defaults(field.name)
    common = values[DEFAULT_RECIPE]
    text = "default %s" % _shown(common, field.name)
    others = ["%s %s" % (r, _shown(v, field.name)) for r, v in values.items() if v != common]
    return text + ("; recipe " + ", ".join(others) if others else "")


def _shown(value, name):
    if isinstance(value, bool):
        return "on" if value else "off"
    if name == "hidden" and value == 0:
        return "fixed"
    return "none" if value is None else value


def parser(prog="train.py"):
    p = Parser(prog=prog, description="Train a GAN on MNIST. Running it again with the "
               "same --checkpoint-dir resumes from the newest checkpoint.",
               argument_default=argparse.SUPPRESS)
    for field in config_lib.FIELDS:
        meta = field.metadata
        help_text = "%s (%s)" % (meta["help"], describe_default(field))
        if field.type is bool:  # --no-X only where a recipe turns X on
            p.add_argument(config_lib.flag_name(field.name), help=help_text,
                           action=(argparse.BooleanOptionalAction if turned_on_by_a_recipe(field)
                                   else "store_true"))
        else:
            p.add_argument(config_lib.flag_name(field.name), type=meta["check"],
                           choices=meta["choices"], help=help_text)
    return p


def main(argv=None, prog="train.py"):
    explicit = vars(parser(prog).parse_args(argv))
    explicit.setdefault("checkpoint_dir", config_lib.Config.checkpoint_dir)

    def train():
        from gan_mnist import api  # TensorFlow: inside run, so a Ctrl-C here says "interrupted"

        return api.train_flags(explicit)

    return run(train)
