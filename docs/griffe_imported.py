"""A griffe extension: signatures and docstrings that are set at import.

probconv's continuous families are written with their own parameters and
``**grid``; `probconv.distributions._grid_args.grid_family` gives them the
grid keywords and their documentation when the module is imported (one spec
for all of them). Griffe reads the source, so for a function decorated with
``grid_family`` this extension takes the signature and the docstring from
the imported function instead.
"""

from __future__ import annotations

import inspect

import griffe

DECORATORS = ("grid_family",)


class ImportedSignatures(griffe.Extension):
    """Replace the source's parameters and docstring by the imported ones."""

    def on_function_instance(self, *, node, func, agent, **kwargs) -> None:
        """Read `func`'s signature and docstring from the imported object."""
        if not any(str(d.value) in DECORATORS for d in func.decorators):
            return
        obj = griffe.dynamic_import(func.path)
        lineno = func.docstring.lineno if func.docstring else func.lineno
        func.docstring = griffe.Docstring(
            inspect.cleandoc(obj.__doc__), lineno=lineno, parent=func
        )
        func.parameters = griffe.Parameters(
            *(
                griffe.Parameter(
                    p.name,
                    kind=griffe.ParameterKind(p.kind.description),
                    default=None if p.default is p.empty else repr(p.default),
                )
                for p in inspect.signature(obj).parameters.values()
            )
        )
