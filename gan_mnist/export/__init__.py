"""The generator outside the package: a SavedModel (and TFLite), and a web page."""
