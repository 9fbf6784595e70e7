"""Shared test settings: small sizes, no network, a private cache."""

import os

# Direct `pytest` runs behave like `make test`.
os.environ.setdefault("ADVBOOK_SMOKE", "1")
os.environ.setdefault("ADVBOOK_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The chapters' kernels inherit this: a progress bar is noise in a test log.
os.environ.setdefault("TQDM_DISABLE", "1")
