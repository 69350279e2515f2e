"""Data sets: the one description of a data set (images, labels, classes) and the embedded synthetic set."""
