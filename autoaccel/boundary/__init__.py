"""Python data at the call boundary: lists, buffers and str passed to compiled code.

A hot call's arguments are converted into what Numba compiles well (:mod:`.convert`, each
converted value of a class of its kind, :mod:`.kinds`), seen by
the compiled code through types that allow exactly what CPython does with them
(:mod:`.numba_types`, filled by :mod:`.unboxing`), and after the call the caller's objects get
exactly the changes the original would have made. docs/boundary.md explains the design and
its limits.
"""
