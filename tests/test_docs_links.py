"""What the docs promise about themselves: every relative link and #anchor in README.md and docs/
leads somewhere, the folders the docs' commands create are ignored by git, and the README is a
short page of today's facts (no dates: the results files carry them)."""
import glob
import os
import re
import subprocess

import pytest

from tests.conftest import REPO

DOCS = ["README.md"] + sorted(os.path.relpath(p, REPO)
                              for p in glob.glob(os.path.join(REPO, "docs", "*.md")))
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def read(doc):
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        return f.read()


def slug(heading):
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped (hyphens and
    underscores kept), each space a hyphen."""
    text = re.sub(r"<[^>]+>|[`*]", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def anchors(doc):
    """Every #anchor a page has: its headings' slugs (a repeated one gets -1, -2, ...) and the
    ids of its <a name=...> tags."""
    found, seen = set(), {}
    text = FENCE.sub("", read(doc))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        s = slug(heading)
        found.add(s if s not in seen else "%s-%d" % (s, seen[s]))
        seen[s] = seen.get(s, 0) + 1
    found.update(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    return found


def links(doc):
    """(target file relative to the repository, anchor) for each relative link in ``doc``."""
    for target in LINK.findall(FENCE.sub("", read(doc))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        yield target, full, anchor


def test_the_slugs_are_githubs():
    """Headings as GitHub turns them into anchors (checked by hand on github.com pages)."""
    assert slug("Recipes") == "recipes"
    assert slug("The main job: train, resume, sample, evaluate") == (
        "the-main-job-train-resume-sample-evaluate")
    assert slug("The flags people use, and TensorBoard") == "the-flags-people-use-and-tensorboard"
    assert slug("`--recipe best` after 15 minutes (2 seeds)") == "--recipe-best-after-15-minutes-2-seeds"
    assert slug("Stop and resume") == "stop-and-resume"


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_and_anchor_resolves(doc):
    broken = []
    for target, full, anchor in links(doc):
        if not os.path.exists(os.path.join(REPO, full)):
            broken.append("%s (no such file)" % target)
        elif anchor and full.endswith(".md") and anchor not in anchors(full):
            broken.append("%s (no heading #%s in %s)" % (target, anchor, full))
    assert not broken, "%s: %s" % (doc, "; ".join(broken))


# Folder flags whose values the docs type as a literal name (not a placeholder like DIR or C).
FOLDER_FLAGS = re.compile(r"--(?:checkpoint-dir|output-dir|out|web)\s+([a-z][a-z0-9_-]*)/?(?=\s|$)")


def test_the_folders_the_docs_commands_create_are_ignored_by_git():
    commands = [line for doc in DOCS for line in read(doc).splitlines()
                if re.match(r"( {4}|\t)", line)]  # the code blocks' lines
    folders = {m for line in commands for m in FOLDER_FLAGS.findall(line)}
    folders.discard("sweeps")  # sweeps/NAME: a folder of its own below
    folders |= {"checkpoints-classic", "output-classic", "sweeps", "budget", "MNIST_data"}
    assert {"checkpoints-cond", "output-cond", "sevens_page", "digits_page"} <= folders, folders
    paths = [os.path.join(folder, "index.html") for folder in sorted(folders)]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=REPO,
                             input="\n".join(paths), capture_output=True, text=True).stdout
    assert sorted(ignored.split()) == sorted(paths)


def test_the_readme_is_at_most_100_lines_and_quotes_no_dates():
    readme = read("README.md")
    assert len(readme.splitlines()) <= 100
    assert not re.findall(r"\b20\d\d-\d\d-\d\d\b", readme)


def test_the_tflite_snippet_uses_litert_not_the_deprecated_interpreter():
    """TensorFlow 2.21 deprecates tf.lite.Interpreter for LiteRT's; the docs show the current one
    (tests/test_docs_commands.py runs the snippet, tests/test_export.py the same interpreter)."""
    usage = read(os.path.join("docs", "usage.md"))
    assert "from ai_edge_litert.interpreter import Interpreter" in usage
    assert "tf.lite.Interpreter(" not in usage
