"""How good are the digits: sampling a trained generator, the classifier, the metrics, the
evaluation report and its figures."""
