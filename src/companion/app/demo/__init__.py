"""A synthetic population for demos and benchmarks, made through the real use cases."""
