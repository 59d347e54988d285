"""export.py --web: the page runs the generator in a real browser. Debian's chromium (headless,
driven by Playwright, with a fresh profile) opens the exported page from disk and from a local
file server on 127.0.0.1 that the test starts, that stops by itself, and that the test ends by its
process id. The canvas is read back pixel by pixel: the digits are the generator's own (the same
as TensorFlow's for the noise the page drew), the shipped classifier reads them as confident
digits, and the digit picker changes the class drawn.

Needs requirements-web.txt, npm ci --prefix web and apt-get install chromium (.ci/run does all
three); outside CI the tests skip without them, under CI they fail.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist.errors import GanError
from gan_mnist.evaluation import classifier, sampling
from gan_mnist.export import web
from tests.conftest import REPO

EXPORT = os.path.join(REPO, "scripts", "export.py")
CHROMIUM = "/usr/bin/chromium"
# What this machine's closed network needs: no background connections, no updates, no sync.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
UNTRAINED = os.path.join(REPO, "tests", "assets", "folders_0.1.0", "fc")  # 10 steps of fc
SERVER_LIFETIME = 300  # seconds: the file server ends by itself even if the test dies

# The grid's digits as the page drew them: every digit's 28x28 pixels, read at the centre of
# each scale x scale square of the canvas (red channel; the page draws grey).
READ_GRID = """() => {
  const s = window.ganPage, canvas = document.getElementById("grid");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [], half = Math.floor(s.scale / 2);
  for (let k = 0; k < s.columns * s.rows; k++) {
    const left = (k % s.columns) * 28, top = Math.floor(k / s.columns) * 28;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++)
      out.push(data[(((top + y) * s.scale + half) * canvas.width + (left + x) * s.scale + half) * 4]);
  }
  return out;
}"""
READ_WALK = """() => Array.from(document.getElementById("walk").getContext("2d")
  .getImageData(0, 0, 224, 224).data.filter((v, i) => i % 4 === 0))"""


def missing_tools():
    missing = []
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -r requirements-web.txt)")
    try:
        web.check_tools()
    except GanError as e:
        missing.append(str(e))
    if not os.path.exists(CHROMIUM):
        missing.append("Debian's chromium (apt-get install chromium)")
    return missing


@pytest.fixture(scope="module")
def tools():
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must install the web tools: " + "; ".join(missing))
        pytest.skip("; ".join(missing))


@pytest.fixture(scope="module")
def browser(tools):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives every launch a fresh, temporary profile (--user-data-dir).
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def export_web(out, *source):
    """export.py --web ``out`` of ``source`` (--checkpoint-dir DIR, or --pretrained NAME)."""
    result = subprocess.run([sys.executable, EXPORT, *source, "--web", out],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "wrote a web page for the generator of step" in result.stdout
    return result


def open_page(browser, url):
    """The page at ``url`` once its first grid is drawn; (page, errors the page reported)."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append("request failed: %s" % r.url))
    page.goto(url)
    page.wait_for_function("window.ganPage && (ganPage.grids > 0 || ganPage.error)",
                           timeout=60000)
    assert page.evaluate("ganPage.error") is None, page.evaluate("ganPage.error")
    return page, errors


def report_speed(how, page, page_dir):
    """Print what docs/web.md records (pytest -s shows it): the page's size, the time from
    navigation to the first grid on the canvas, and the time one grid takes."""
    first, last = page.evaluate("[ganPage.firstGridMs, ganPage.lastGridMs]")
    assert 0 < last <= first, (first, last)
    print("\n%s: page %.2f MB, first grid %.0f ms after navigation, a grid of 60 in %.0f ms"
          % (how, web.size_of(str(page_dir)) / 1e6, first, last))


def grid_digits(page):
    pixels = np.array(page.evaluate(READ_GRID), dtype=np.uint8)
    return pixels.reshape(-1, 28, 28)


def redraw(page, action):
    """Do ``action`` (a click, a pick) and wait for the grid it draws."""
    drawn = page.evaluate("ganPage.grids")
    action()
    page.wait_for_function("ganPage.grids > %d || ganPage.error" % drawn, timeout=30000)
    assert page.evaluate("ganPage.error") is None, page.evaluate("ganPage.error")


@pytest.fixture(scope="module")
def untrained_page(tools, tmp_path_factory):
    root = tmp_path_factory.mktemp("web_fc")
    folder = str(root / "fc")
    shutil.copytree(UNTRAINED, folder)
    export_web(str(root / "page"), "--checkpoint-dir", folder)
    return folder, root / "page"


def test_the_page_opened_from_disk_draws_the_generators_own_digits(untrained_page, browser):
    folder, page_dir = untrained_page
    assert sorted(os.listdir(page_dir)) == ["app.js", "index.html", "model.js", "ort-runtime.js",
                                            "ort.wasm.min.js"]
    # No address outside the folder: the runtime is vendored, nothing from a CDN.
    for name in os.listdir(page_dir):
        text = (page_dir / name).read_text()
        if name != "ort.wasm.min.js":  # the runtime's own code names its docs' web pages
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), name
    page, errors = open_page(browser, (page_dir / "index.html").as_uri())
    assert not errors, errors
    report_speed("from disk", page, page_dir)
    assert not page.is_visible("#digit")  # an unconditional model has no digit picker
    state = page.evaluate("({zDim: GAN_MODEL.zDim, noise: ganPage.noise, grids: ganPage.grids})")
    drawn = grid_digits(page)
    generator = sampling.Generator(folder)
    noise = np.array(state["noise"], np.float32).reshape(len(drawn), state["zDim"])
    expected = generator(noise)
    # The browser's digits are TensorFlow's for the same noise (rounding may differ by one).
    assert np.abs(drawn.astype(int) - expected.astype(int)).max() <= 1
    # Each click: fresh noise, new digits.
    redraw(page, lambda: page.click("#draw"))
    assert not np.array_equal(grid_digits(page), drawn)
    # The slider walks one digit between two noises.
    start = np.array(page.evaluate(READ_WALK))
    walks = page.evaluate("ganPage.walks")
    page.fill("#t", "100")
    page.wait_for_function("ganPage.walks > %d && ganPage.walkT === 1" % walks, timeout=30000)
    assert not np.array_equal(np.array(page.evaluate(READ_WALK)), start)
    page.close()


@pytest.fixture(scope="module")
def conditional_page(tools, tmp_path_factory):
    """export --web of the shipped best-conditional generator, as docs/usage.md writes it."""
    page = tmp_path_factory.mktemp("web_conditional") / "page"
    export_web(str(page), "--pretrained", "best-conditional")
    return page


@pytest.fixture
def file_server(conditional_page):
    """python -m http.server on 127.0.0.1 (a free port), in the page's folder; it ends by itself
    after SERVER_LIFETIME seconds, and the test ends it by its process id."""
    server = subprocess.Popen(
        ["timeout", str(SERVER_LIFETIME), sys.executable, "-u", "-m", "http.server", "0",
         "--bind", "127.0.0.1", "--directory", str(conditional_page)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41234 (...) ..."
        port = int(re.search(r"port (\d+)", line).group(1))
        yield "http://127.0.0.1:%d/index.html" % port
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def read(digits):
    """(the class the shipped classifier reads in each digit, its probability)."""
    probs, _ = classifier.shipped().predict(digits)
    return probs.argmax(axis=1), probs.max(axis=1)


def test_the_page_served_draws_confident_digits_and_the_picker_picks_the_class(
        file_server, conditional_page, browser):
    page, errors = open_page(browser, file_server)
    assert not errors, errors
    report_speed("served", page, conditional_page)
    assert page.is_visible("#digit")  # a conditional model gets the picker
    # Every digit, one class per column: digit-like (not blank, not noise).
    digits = grid_digits(page)
    assert len(digits) == 60
    bright = (digits > 127).mean(axis=(1, 2))
    assert 0.03 < np.median(bright) < 0.4, bright  # strokes on black, like MNIST
    classes, confidence = read(digits)
    confident = confidence > 0.9
    assert confident.mean() >= 0.6, confidence
    assert (classes == np.arange(60) % 10).mean() >= 0.5, classes.reshape(6, 10)
    for digit in (3, 7):
        redraw(page, lambda: page.select_option("#digit", str(digit)))
        assert page.evaluate("ganPage.labels") == [digit] * 60
        classes, confidence = read(grid_digits(page))
        assert ((classes == digit) & (confidence > 0.9)).mean() >= 0.5, \
            (digit, np.bincount(classes, minlength=10).tolist())
    page.close()


def test_without_the_tools_export_web_says_what_to_install(tmp_path, monkeypatch, capsys):
    from gan_mnist.commands import export as export_command

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAN_MNIST_ORT_DIR", raising=False)
    monkeypatch.setattr(web, "REPOSITORY", str(tmp_path))  # no web/node_modules there
    real_find_spec = web.importlib.util.find_spec
    monkeypatch.setattr(web.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tf2onnx" else real_find_spec(name, *a))
    code = export_command.main(["--checkpoint-dir", UNTRAINED, "--web", str(tmp_path / "page")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("error: export --web needs the converter tf2onnx "
                             "(pip install -r requirements-web.txt"), err
    assert "npm ci --prefix web" in err[0] and "onnxruntime-web@%s" % web.RUNTIME_VERSION in err[0]
    assert not (tmp_path / "page").exists()
    assert json.loads((open(os.path.join(REPO, "web", "package.json")).read()))[
        "dependencies"]["onnxruntime-web"] == web.RUNTIME_VERSION
