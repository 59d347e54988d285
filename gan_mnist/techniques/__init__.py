"""Conditioning, switched by Config fields: on classes (--conditional) or on k-means groups of
the digits (--clusters). G and D read it (gan_mnist.core.gan); it reads only the layers below."""
