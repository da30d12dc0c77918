"""Benchmarks of the suite and the reference controller, run by ``make bench``.

Every figure comes from real processes: the local kube-apiserver and etcd, the
reference controller (and the seed's design beside it), the recording sink.
"""
