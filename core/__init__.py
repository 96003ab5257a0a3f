"""MetaRec core: datasets, cold-start splits, meta-learning algorithms, training, evaluation."""

__version__ = "0.1.0"
