"""The files shipped inside the package (gan_mnist/assets/: the classifier, the generators, the web
page), each checked against its SHA-256 in SHA256SUMS before it is used."""
import hashlib
import os

from gan_mnist import PACKAGE_DIR
from gan_mnist.errors import GanError, reason
from gan_mnist.files import atomic_write

ASSETS_DIR = os.path.join(PACKAGE_DIR, "assets")  # shipped weights and the web page's files

CHECKSUMS = "SHA256SUMS"  # in an assets folder, in sha256sum's format


def asset_checksums(assets=ASSETS_DIR):
    """File name -> SHA-256 of the files shipped in ``assets`` ({} when there is no list)."""
    try:
        with open(os.path.join(assets, CHECKSUMS)) as f:
            return {name.lstrip("*"): digest for digest, name in
                    (line.split() for line in f if line.strip())}
    except (OSError, ValueError):
        return {}


def read_asset(name, what, remedy, assets=ASSETS_DIR):
    """The bytes of shipped file ``name`` after checking its SHA-256; a missing or damaged file
    raises GanError: "the shipped WHAT PATH is damaged ...; REMEDY"."""
    path = os.path.join(assets, name)
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as e:
        raise GanError("the shipped %s %s cannot be read (%s); %s" % (what, path, reason(e),
                                                                     remedy))
    if hashlib.sha256(content).hexdigest() != asset_checksums(assets).get(name):
        raise GanError("the shipped %s %s is damaged (SHA-256 mismatch); %s" % (what, path,
                                                                                remedy))
    return content


def record_asset_checksum(path):
    """Note the SHA-256 of ``path``, a file just written into its assets folder; returns it."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assets = os.path.dirname(path)
    sums = dict(asset_checksums(assets), **{os.path.basename(path): digest})
    with atomic_write(os.path.join(assets, CHECKSUMS)) as f:
        f.writelines("%s  %s\n" % (sums[name], name) for name in sorted(sums))
    return digest
