"""The two networks' variable scopes, and how to pick their variables and updates by scope.

Train ops, savers, the EMA of G and tests select a network's variables by these names.
"""
from gan_mnist.tf_compat import tf

GENERATOR_SCOPE = "generator"
DISCRIMINATOR_SCOPE = "discriminator"


def scope_variables(scope, collection=None):
    """Trainable variables (or those of ``collection``) whose names start with ``scope/``."""
    collection = collection or tf.GraphKeys.TRAINABLE_VARIABLES
    return [v for v in tf.get_collection(collection) if v.op.name.startswith(scope + "/")]


def scope_update_ops(scope):
    """Batch-norm moving-average updates created inside ``scope``."""
    return [op for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            if op.name.startswith(scope + "/")]
