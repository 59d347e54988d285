"""The benchmark's second yardstick: the recipes' networks, losses and Adam settings in plain
PyTorch, the way its DCGAN tutorial writes a GAN (nn.Modules, one G forward per step, D's fake
batch detached for D's update and reused for G's). Nothing that trains imports it; PyTorch is the
benchmark extra (pip install gan_mnist[benchmark], or requirements-benchmark.txt).

The same widths as ours (a test counts the weights): `fc` and `mlp256`, and `fast` with every
recipe built on it: --clusters and --conditional as one-hot rows joined to G's noise and D's
projection term, --spectral-norm as PyTorch's own parametrisation (one power iteration per
forward, as ours), --ema as a moving average of G's weights updated after every G step.
"""
import os

ARCHS = ("fc", "mlp256", "fast")  # the recipes the torch variant is written for


def networks(values):
    """(generator, discriminator) of the recipe as torch modules. G takes (noise, rows), D takes
    (images, rows); rows is None for a model conditioned on nothing."""
    import torch
    from torch import nn

    from gan_mnist.benchmarks.keras_rewrite import label_width

    arch, hidden, width = values["arch"], values["hidden"], label_width(values)
    if arch not in ARCHS:
        raise ValueError("the torch variant is written for %s only" % ", ".join(ARCHS))
    g_inputs = values["z_dim"] - (1 if values["clusters"] else 0) + width
    sn = nn.utils.parametrizations.spectral_norm if values["spectral_norm"] else (lambda m: m)

    def leaky():
        return nn.LeakyReLU(0.2)

    if arch == "fast":
        g_body = nn.Sequential(
            nn.Linear(g_inputs, 7 * 7 * hidden, bias=False), nn.Unflatten(1, (hidden, 7, 7)),
            nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(hidden // 2), nn.ReLU(),
            nn.ConvTranspose2d(hidden // 2, 1, 4, 2, 1), nn.Tanh(), nn.Flatten())
        d_body = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)), sn(nn.Conv2d(1, hidden // 2, 4, 2, 1)), leaky(),
            sn(nn.Conv2d(hidden // 2, hidden, 4, 2, 1)), leaky(), nn.Flatten())
        features = 7 * 7 * hidden
    else:
        depth = 2 if arch == "mlp256" else 1
        g_layers, d_layers, g_in, d_in = [], [], g_inputs, 784
        for _ in range(depth):
            g_layers += [nn.Linear(g_in, hidden), leaky()]
            d_layers += [sn(nn.Linear(d_in, hidden)), leaky()]
            g_in = d_in = hidden
        g_body = nn.Sequential(*g_layers, nn.Linear(hidden, 784), nn.Tanh())
        d_body = nn.Sequential(*d_layers)
        features = hidden

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = g_body

        def forward(self, z, rows):
            if rows is None:
                return self.body(z)
            # A --clusters G drops the noise coordinate that picks the group when sampling.
            return self.body(torch.cat([z[:, 1:] if values["clusters"] else z, rows], 1))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.logit = d_body, sn(nn.Linear(features, 1))
            self.projection = sn(nn.Linear(width, features, bias=False)) if width else None

        def forward(self, x, rows):
            h = self.body(x)
            logit = self.logit(h)
            if self.projection is not None:  # <embedding(rows), features> (Miyato & Koyama)
                logit = logit + (self.projection(rows) * h).sum(1, keepdim=True)
            return logit.view(-1)

    return Generator(), Discriminator()


def weight_counts(values):
    """Trainable weights of (generator, discriminator), spectral norm's weights counted once."""
    return [sum(p.numel() for p in net.parameters() if p.requires_grad)
            for net in networks(values)]


def run(args, mnist_images, timed):
    """Steps/s of the recipe's D-then-G step in PyTorch, on the CPU's cores (or
    GAN_MNIST_THREADS), with the digits held as a uint8 tensor and each batch drawn from it."""
    import numpy as np
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as xent

    from gan_mnist.benchmarks.keras_rewrite import config, label_width

    torch.set_num_threads(int(os.environ.get("GAN_MNIST_THREADS") or 0) or os.cpu_count())
    torch.manual_seed(0)
    values = config(args)
    z_dim, batch, width = values["z_dim"], args.batch_size, label_width(values)
    smoothing, decay = values["label_smoothing"], values["ema"]
    generator, discriminator = networks(values)
    adam = dict(betas=(values["beta1"], 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=values["lr_d"], **adam)
    g_opt = torch.optim.Adam(generator.parameters(), lr=values["lr_g"], **adam)
    g_params = list(generator.parameters())
    averages = [p.detach().clone() for p in g_params] if decay else None
    images = torch.from_numpy(mnist_images(args.data_dir).reshape(-1, 784))
    # Each digit's group: a timing stand-in for its k-means cluster or class, as in keras_rewrite.
    groups = torch.from_numpy(np.random.RandomState(0).randint(0, max(width, 1), len(images)))
    eye = torch.eye(max(width, 1))
    real_target = torch.full((batch,), 1.0 - smoothing)
    zeros, ones = torch.zeros(batch), torch.ones(batch)

    def step():
        index = torch.randint(0, len(images), (batch,))
        real = images[index].float() / 127.5 - 1.0
        rows = eye[groups[index]] if width else None
        z = torch.rand(batch, z_dim) * 2.0 - 1.0
        fake = generator(z, rows)
        d_opt.zero_grad(set_to_none=True)
        d_loss = (xent(discriminator(real, rows), real_target)
                  + xent(discriminator(fake.detach(), rows), zeros))
        d_loss.backward()
        d_opt.step()
        discriminator.requires_grad_(False)  # G's step needs no gradients of D's weights
        g_opt.zero_grad(set_to_none=True)
        xent(discriminator(fake, rows), ones).backward()
        g_opt.step()
        discriminator.requires_grad_(True)
        if averages is not None:
            with torch.no_grad():
                for average, weight in zip(averages, g_params):
                    average.lerp_(weight, 1.0 - decay)

    return timed(step, args.steps)
