"""One record per architecture (``--arch``): its networks, its pixel range, its presets (the
Config values ``--arch X`` stands for) and its thread settings. No TensorFlow here: the command
line reads the presets before TensorFlow is imported.
"""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One ``--arch``: everything the rest of the package needs to know about it."""
    generator: str  # gan_mnist.core.networks.<generator>(z, training, hidden, z_dim)
    discriminator: str  # gan_mnist.core.networks.<discriminator>(x, training, seed, hidden)
    presets: dict  # Config field -> value: the defaults --arch stands for (training.recipes)
    pixel_range: tuple = (-1.0, 1.0)  # of the images D sees and G makes
    # Threads per op, 0 = TensorFlow's default. The MLPs' matrices are small: splitting one
    # matmul across cores costs more than it saves (fc +13%, mlp256 +17% with one thread),
    # while running independent ops side by side (inter-op) pays. Measured with
    # scripts/benchmark.py (variant fused_tf_threads).
    intra_op_threads: int = 0


# fc: the classic fully connected GAN tutorials; mlp256: two hidden layers of 256 at batch 32;
# dcgan: TensorFlow's DCGAN tutorial (Adam 1e-4 with default beta1, no label smoothing);
# cnn: the convolutional MNIST GAN tutorial with a 56x56 generator and D pre-training;
# fast: a small DCGAN-style pair tuned for quality per CPU-minute; hidden is its channel width.
ARCHITECTURES = {
    "fc": Architecture("mlp_generator", "mlp_discriminator", dict(
        z_dim=100, hidden=128, batch_size=128, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
        label_smoothing=0.1, d_pretrain_steps=0), intra_op_threads=1),
    "mlp256": Architecture("mlp256_generator", "mlp256_discriminator", dict(
        z_dim=64, hidden=256, batch_size=32, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
        label_smoothing=0.1, d_pretrain_steps=0), intra_op_threads=1),
    "dcgan": Architecture("dcgan_generator", "dcgan_discriminator", dict(
        z_dim=100, hidden=0, batch_size=64, lr_d=1e-4, lr_g=1e-4, beta1=0.9,
        label_smoothing=0.0, d_pretrain_steps=0)),
    "cnn": Architecture("cnn_generator", "cnn_discriminator", dict(
        z_dim=100, hidden=0, batch_size=50, lr_d=3e-4, lr_g=1e-4, beta1=0.9,
        label_smoothing=0.0, d_pretrain_steps=300), pixel_range=(0.0, 1.0)),  # a sigmoid G
    "fast": Architecture("fast_generator", "fast_discriminator", dict(
        z_dim=64, hidden=64, batch_size=64, lr_d=2e-4, lr_g=2e-4, beta1=0.5,
        label_smoothing=0.0, d_pretrain_steps=0)),
}
