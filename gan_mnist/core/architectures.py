"""One record per architecture (``--arch``): its networks, its pixel range and its thread
settings. The settings each was trained with are its recipe (gan_mnist.training.recipes). No
TensorFlow here: the command line reads these before TensorFlow is imported.
"""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One ``--arch``: everything the rest of the package needs to know about it."""
    generator: str  # gan_mnist.core.networks.<generator>(z, training, hidden, z_dim)
    discriminator: str  # gan_mnist.core.networks.<discriminator>(x, training, seed, hidden)
    pixel_range: tuple = (-1.0, 1.0)  # of the images D sees and G makes
    # Threads per op, 0 = TensorFlow's default. The MLPs' matrices are small: splitting one
    # matmul across cores costs more than it saves (fc +13%, mlp256 +17% with one thread),
    # while running independent ops side by side (inter-op) pays. Measured with
    # scripts/benchmark.py (variant fused_tf_threads).
    intra_op_threads: int = 0


# fc: the classic fully connected GAN tutorials; mlp256: two hidden layers of 256; dcgan:
# TensorFlow's DCGAN tutorial; cnn: the convolutional MNIST GAN tutorial with a 56x56
# generator; fast: a small DCGAN-style pair tuned for quality per CPU-minute.
ARCHITECTURES = {
    "fc": Architecture("mlp_generator", "mlp_discriminator", intra_op_threads=1),
    "mlp256": Architecture("mlp256_generator", "mlp256_discriminator", intra_op_threads=1),
    "dcgan": Architecture("dcgan_generator", "dcgan_discriminator"),
    "cnn": Architecture("cnn_generator", "cnn_discriminator", pixel_range=(0.0, 1.0)),  # sigmoid
    "fast": Architecture("fast_generator", "fast_discriminator"),
}
