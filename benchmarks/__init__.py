"""Throughput benchmarks of the event store and the read side, each against its raw baseline.

Run with ``make bench`` or ``python -m benchmarks [--quick]``. Every figure is a
median of several timed repetitions after an untimed warm-up, and every
benchmark measures its raw-driver baseline in the same run: the machines this
runs on are noisy, so the ratios matter more than the absolute figures.
"""
