"""Command-line tools that combine the pure libraries (no Django).

This package sits above `takedown.hashing`, `takedown.detectors` and `takedown.fetching`, so a
tool that needs two of them (face templates need hashing's bundle and detectors' face model; a
link check needs fetching and hashing) does not make one library import another. The familiar
entry points `python -m takedown.hashing` and `python -m takedown.fetching` are thin `__main__`
shims that hand their arguments to the modules here.
"""
