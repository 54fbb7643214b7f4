"""The expression language of ``probconv sum``: Python's syntax, the API's names.

An expression is what a user would write in Python after
``from probconv.distributions import *``, with dice shorthand::

    binomial(20, 0.3) + poisson(4) + 3d6
    exponential(0, 2) - exponential(scale=2)
    compound(poisson(3), lognormal(1, 0.5))
    iid_sum(binomial(n=10, p=0.5), 30)
    mixture([0.3, 0.7], [poisson(2), poisson(8)])

It is parsed by `ast` and walked here; nothing is ever given to `eval`. Only
these nodes are accepted: numbers, strings (for arguments such as
``method='linear'``), lists and tuples, ``+``, ``-``, ``*``, unary minus, and
calls by name of the public functions of `probconv.distributions` (see
`functions`), whose positional and keyword arguments are bound against their
real signatures, so the command line takes exactly the API's parameters, in
the API's order. ``NdS`` (``3d6``, ``d20``) means ``dice(N, S)``.

``X + Y`` and ``X - Y`` of two laws go through `probconv.distributions.add`,
so the command line's ``--accuracy`` reaches them, as it reaches every
called function that takes ``accuracy=`` and was not given one.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import numbers
import re

# Public functions of probconv.distributions that do not map numbers and laws
# to a law: they take arrays of logs, callables or scipy objects, or return
# arrays. Every other public function is callable from an expression.
NOT_IN_EXPRESSIONS = frozenset(
    {"from_scipy", "logconvolve", "relative_error", "discretization_error"}
)

_DICE = re.compile(r"(?<![\w.])(\d*)d(\d+)(?![\w.])")
_API_ERRORS = (ValueError, TypeError, ArithmeticError)
_REFUSED = {
    ast.Div: "'/'",
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.Pow: "'**'",
    ast.MatMult: "'@'",
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "lambda",
    ast.Starred: "'*' unpacking",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.IfExp: "'if'",
}
_ALLOWED = (
    "only numbers, NdS dice, + - *, and calls of probconv.distributions' "
    "functions are allowed"
)


class ExpressionError(ValueError):
    """A bad expression; `column` (1-based) points at the culprit."""

    def __init__(self, message: str, column: int, text: str):
        self.column = column
        self.text = text
        message = " ".join(str(message).split()).rstrip(".")
        super().__init__(f"{message} (at column {column} of {text!r})")


def functions(dist=None) -> dict:
    """Return the functions an expression may call, by name.

    Every public function of `probconv.distributions` except those in
    `NOT_IN_EXPRESSIONS` (classes are never callable).
    """
    if dist is None:
        from . import distributions as dist
    return {
        name: getattr(dist, name)
        for name in dist.__all__
        if name not in NOT_IN_EXPRESSIONS
        and callable(getattr(dist, name))
        and not inspect.isclass(getattr(dist, name))
    }


def usage(name: str, fn) -> str:
    """Return ``name(a, b=1.0, *, c=None)``: a signature without annotations."""
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return f"{name}({', '.join(parts)})"


def _annotation(p) -> str:
    a = p.annotation
    if a is p.empty:
        return ""
    return a if isinstance(a, str) else getattr(a, "__name__", str(a))


def _wants_int(p) -> bool:
    ann = _annotation(p)
    if ann:
        return re.search(r"\bint\b", ann) is not None
    return isinstance(p.default, int) and not isinstance(p.default, bool)


def _describe(value) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, numbers.Number):
        return f"the number {value:g}"
    return "a distribution"


class _Evaluator:
    def __init__(self, text: str, dist, accuracy: str | None):
        from .distributions import Distribution

        self.text = text
        self.dist = dist
        self.Distribution = Distribution
        self.accuracy = accuracy
        self.table = functions(dist)
        self.dice = {}  # col_offset -> (stand-in name, n, sides)
        self.lead = 0  # leading spaces, stripped before ast sees the text
        self.handlers = {
            ast.Constant: self._constant,
            ast.List: self._list,
            ast.Tuple: self._list,
            ast.Name: self._name,
            ast.UnaryOp: self._unary,
            ast.BinOp: self._binary,
            ast.Call: self._call,
        }

    def fail(self, message, column=1):
        raise ExpressionError(message, column, self.text)

    # -- parsing -----------------------------------------------------------
    def parse(self):
        text = self.text
        if not text.strip():
            self.fail("empty expression")
        for i, ch in enumerate(text):
            if not ch.isascii():
                self.fail(f"unexpected character {ch!r}", column=i + 1)
        # Same-length substitutions keep ast's columns equal to the user's.
        source = re.sub(r"\s", " ", text)
        self.lead = lead = len(source) - len(source.lstrip())
        source = " " * lead + self._replace_dice(source[lead:])
        self.source = source
        try:
            tree = ast.parse(source[lead:], mode="eval")
        except SyntaxError as err:
            col = (err.offset or 0) + lead
            end = len(text.rstrip())
            if not 1 <= col <= end:
                self.fail(f"{err.msg}: the expression ends too early", column=end + 1)
            if text[col - 1] in "$?`":  # never part of a Python expression
                self.fail(f"unexpected character {text[col - 1]!r}", column=col)
            self.fail(err.msg, column=col)
        try:
            return self.eval(tree.body)
        except RecursionError:
            self.fail("the expression is nested too deeply")

    def _replace_dice(self, source: str) -> str:
        # `3d6` becomes the identifier `___`, known as dice by its position.
        out, pos = [], 0
        for m in _DICE.finditer(source):
            name = "_" * len(m.group(0))
            n = int(m.group(1)) if m.group(1) else 1
            self.dice[m.start()] = (name, n, int(m.group(2)))
            out += [source[pos : m.start()], name]
            pos = m.end()
        return "".join(out) + source[pos:]

    # -- evaluation --------------------------------------------------------
    def column(self, node) -> int:
        return node.col_offset + 1 + self.lead

    def error(self, message, node):
        self.fail(message, column=self.column(node))

    def eval(self, node):
        method = self.handlers.get(type(node))
        if method is None:
            what = _REFUSED.get(type(node), type(node).__name__)
            self.error(f"{what} is not allowed: {_ALLOWED}", node)
        return method(node)

    def _constant(self, node):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            self.error(f"{v!r} is not allowed: {_ALLOWED}", node)
        return v

    def _list(self, node):
        return [self.eval(e) for e in node.elts]

    def _name(self, node):
        entry = self.dice.get(node.col_offset)
        if entry is not None and entry[0] == node.id:
            _, n, sides = entry
            return self.call_api("dice", self.table["dice"], [n, sides], {}, node)
        if node.id in self.table:
            self.error(f"{node.id!r} is a function: call it, as {node.id}(...)", node)
        self.unknown(node.id, node)

    def unknown(self, name, node):
        close = difflib.get_close_matches(name, self.table, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join(sorted(self.table))
        self.error(f"unknown name {name!r}; {hint}known: {known}, and NdS dice", node)

    def _unary(self, node):
        v = self.operand(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        self.error(f"{type(node.op).__name__} is not allowed: {_ALLOWED}", node)

    def operand(self, node):
        v = self.eval(node)
        if isinstance(v, (str, list)):
            self.error(f"{_describe(v)} cannot take part in + - *", node)
        return v

    def _binary(self, node):
        if type(node.op) not in (ast.Add, ast.Sub, ast.Mult):
            what = _REFUSED.get(type(node.op), type(node.op).__name__)
            self.error(f"{what} is not allowed: {_ALLOWED}", node)
        left, right = self.operand(node.left), self.operand(node.right)
        D = self.Distribution
        # Point errors at the operator, which follows the left operand.
        sign = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}[type(node.op)]
        at = self.source.find(sign, self.lead + node.left.end_col_offset)
        where = ast.Constant(0, col_offset=at - self.lead)
        try:
            if isinstance(left, D) and isinstance(right, D):
                if isinstance(node.op, ast.Mult):
                    return left * right  # the API's message: not a convolution
                if isinstance(node.op, ast.Sub):
                    right = -right
                kwargs = {"accuracy": self.accuracy} if self.accuracy else {}
                return self.dist.add(left, right, **kwargs)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            return left * right
        except _API_ERRORS as err:
            self.error(str(err), where)

    def _call(self, node):
        if not isinstance(node.func, ast.Name):
            self.eval(node.func)  # names the refused construct, if there is one
            self.error(f"only calls by name are allowed: {_ALLOWED}", node)
        name = node.func.id
        entry = self.dice.get(node.func.col_offset)
        if entry is not None and entry[0] == name:
            self.error("dice are a law, not a function: they cannot be called", node)
        if name not in self.table:
            self.unknown(name, node)
        fn = self.table[name]
        args = [self.eval(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                self.error(f"'**' unpacking is not allowed: {_ALLOWED}", kw.value)
            if kw.arg in kwargs:
                self.error(f"{name}() got {kw.arg!r} twice", kw.value)
            kwargs[kw.arg] = self.eval(kw.value)
        return self.call_api(name, fn, args, kwargs, node)

    def call_api(self, name, fn, args, kwargs, node):
        sig = inspect.signature(fn)
        params = sig.parameters
        shown = f"its parameters: {usage(name, fn)}"
        positional = [
            p
            for p in params.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(args) > len(positional):
            self.error(
                f"{name}() takes at most {len(positional)} positional argument(s), "
                f"got {len(args)}; {shown}",
                node,
            )
        for key in kwargs:
            if key not in params or params[key].kind is params[key].POSITIONAL_ONLY:
                self.error(f"{name}() has no parameter {key!r}; {shown}", node)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            self.error(f"{name}(): {err}; {shown}", node)
        if self.accuracy and "accuracy" in params and "accuracy" not in kwargs:
            bound.arguments["accuracy"] = self.accuracy
        for key, v in bound.arguments.items():
            bound.arguments[key] = self.check(name, params[key], v, shown, node)
        try:
            out = fn(*bound.args, **bound.kwargs)
        except _API_ERRORS as err:
            self.error(f"{name}(): {err}", node)
        if not isinstance(out, self.Distribution):
            self.error(f"{name}() with these arguments does not return a law", node)
        return out

    def check(self, name, p, v, shown, node):
        ann = _annotation(p)
        D = self.Distribution
        if "Distribution" in ann:
            many = "Sequence" in ann or "list" in ann
            ok = (
                isinstance(v, list) and all(isinstance(e, D) for e in v)
                if many
                else isinstance(v, D)
            )
            if not ok:
                want = "a list of distributions" if many else "a distribution"
                self.error(
                    f"{name}(): `{p.name}` must be {want}, got {_describe(v)}; {shown}",
                    node,
                )
            return v
        if isinstance(v, D) or (
            isinstance(v, list) and any(isinstance(e, D) for e in v)
        ):
            self.error(
                f"{name}(): `{p.name}` takes numbers, not a distribution; {shown}", node
            )
        if isinstance(v, str) and not ("str" in ann or isinstance(p.default, str)):
            self.error(
                f"{name}(): `{p.name}` takes a number, got {_describe(v)}; {shown}",
                node,
            )
        if isinstance(v, float) and v.is_integer() and _wants_int(p):
            return int(v)
        return v


def parse(text: str, *, accuracy: str | None = None):
    """Evaluate an expression to a number or a `probconv.distributions.Distribution`.

    Parameters
    ----------
    text : str
        The expression (see the module's docstring).
    accuracy : {'absolute', 'relative'}, optional
        Passed as ``accuracy=`` to ``X + Y``, ``X - Y`` and to every called
        function that takes it and was not given it; by default the API's
        defaults apply.

    Raises
    ------
    ExpressionError
        A syntax error, a refused construct, an unknown name, arguments that
        do not bind to the function's signature, or a `ValueError` or
        `TypeError` raised by the API (its message kept, on one line).

    Examples
    --------
    >>> from probconv._expr import parse
    >>> d = parse("2d6 + 1")
    >>> round(float(d.mean()), 12)
    8.0
    >>> round(float(parse("exponential(0, scale=2)").mean()), 3)
    2.0
    """
    from . import distributions as dist

    return _Evaluator(text, dist, accuracy).parse()
