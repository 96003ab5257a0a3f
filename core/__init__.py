"""MetaRec core: datasets, cold-start splits, meta-learning algorithms, training, evaluation."""

import os

# Same seed, same numbers on CPU: with MKL's dynamic threading a busy machine gets fewer BLAS
# threads for some calls, so float sums change order and results move in the 8th digit (seen
# under load: tests/test_training.py::test_same_seed_same_numbers_on_cpu). MKL reads this when it
# first runs, so it holds whenever core is imported before the first matrix product.
os.environ.setdefault("MKL_DYNAMIC", "FALSE")
# ... and MKL's conditional numerical reproducibility: the same results whatever the memory
# alignment of the buffers (which changes from run to run in a long-lived process).
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"
