"""The C fast path of the trampoline (autoaccel/runtime/_fastpath.c), built at install.

Everything else about the package is in pyproject.toml. The extension is optional: where no
C compiler is present or its build fails, setuptools warns and installs the package without
it, and autoaccel/runtime/fastpath.py serves calls with the Python path.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "autoaccel.runtime._fastpath",
            sources=["autoaccel/runtime/_fastpath.c"],
            optional=True,
        )
    ]
)
