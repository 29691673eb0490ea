"""Detectors: weak signals about a fetched image or video, for triage (never a notice alone).

Each detector is a small class behind one interface (:mod:`takedown.detectors.base`): a name, a
version, what it needs, and a :class:`~takedown.detectors.base.Finding` with a score and a
sentence that explains it. :mod:`takedown.detectors.registry` builds the enabled set from plain
settings. Like :mod:`takedown.hashing`, this package imports nothing from Django, and the heavy
models (NudeNet, dlib, onnxruntime sessions) load lazily, once per process, on first use.
"""
