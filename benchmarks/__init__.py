"""Speed benchmarks of advbook's attack path (run with `make bench`)."""
