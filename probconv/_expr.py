"""A small grammar for sums of random variables, for the command line.

    expr    := term (('+' | '-') term)*
    term    := unary ('*' unary)*
    unary   := '-' unary | atom
    atom    := NUMBER | DICE | NAME '(' [arg (',' arg)*] ')' | '(' expr ')'
    arg     := ['-'] NUMBER
    DICE    := [INT] 'd' INT            (3d6: the sum of three six-sided dice)

Values are numbers or distributions: ``X + Y`` is the law of the sum of
independent X and Y, ``X + 3`` a shift, ``2 * X`` a scaling. Nothing is ever
passed to `eval`; names are looked up in a fixed table of constructors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<dice>\d*d\d+(?![\w.]))
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_]\w*)
    | (?P<op>[-+*(),])
    )""",
    re.VERBOSE,
)

# Constructor names the grammar accepts, with the number of arguments they
# take (min, max). Only names that probconv.distributions provides are enabled.
CONSTRUCTORS = {
    "bernoulli": (1, 1),
    "binomial": (2, 2),
    "poisson": (1, 1),
    "geometric": (1, 1),
    "negative_binomial": (2, 2),
    "uniform_int": (2, 2),
    "die": (0, 1),
    "dice": (1, 2),
    "normal": (0, 2),
    "uniform": (0, 2),
    "exponential": (0, 1),
    "gamma": (1, 2),
    "beta": (2, 2),
    "lognormal": (1, 2),
    "laplace": (0, 2),
    "cauchy": (0, 2),
    "student_t": (1, 3),
    "pareto": (1, 2),
}
_INTEGER_ARGS = {
    "binomial": (0,),
    "negative_binomial": (),
    "uniform_int": (0, 1),
    "die": (0,),
    "dice": (0, 1),
}


class ExpressionError(ValueError):
    """A malformed expression; `column` (1-based) points at the culprit."""

    def __init__(self, message: str, column: int, text: str):
        self.column = column
        self.text = text
        message = message.rstrip(".")
        super().__init__(f"{message} (at column {column} of {text!r})")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    col: int  # 1-based


def tokenize(text: str) -> list[_Tok]:
    """Split `text` into tokens, or raise `ExpressionError`."""
    toks, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            col = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            bad = text[col - 1]
            raise ExpressionError(f"unexpected character {bad!r}", col, text)
        toks.append(_Tok(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup) + 1))
        pos = m.end()
    toks.append(_Tok("end", "", len(text) + 1))
    return toks


class _Parser:
    def __init__(self, text: str, dist_module):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.dist = dist_module

    def error(self, message, tok=None):
        tok = tok or self.toks[self.i]
        raise ExpressionError(message, tok.col, self.text)

    def peek(self):
        return self.toks[self.i]

    def take(self, kind=None, text=None):
        tok = self.toks[self.i]
        if (kind and tok.kind != kind) or (text and tok.text != text):
            want = repr(text) if text else kind
            got = "the end" if tok.kind == "end" else repr(tok.text)
            self.error(f"expected {want}, found {got}")
        self.i += 1
        return tok

    def parse(self):
        if self.peek().kind == "end":
            self.error("empty expression")
        value, _ = self.expr()
        if self.peek().kind != "end":
            self.error(f"unexpected {self.peek().text!r}")
        return value

    def expr(self):
        left, tok = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take()
            right, rtok = self.term()
            left = self.apply(op, left, right)
        return left, tok

    def term(self):
        left, tok = self.unary()
        while self.peek().text == "*":
            op = self.take()
            right, _ = self.unary()
            left = self.apply(op, left, right)
        return left, tok

    def unary(self):
        if self.peek().text == "-":
            tok = self.take()
            value, _ = self.unary()
            return -value, tok
        return self.atom()

    def atom(self):
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            return float(tok.text), tok
        if tok.kind == "dice":
            self.take()
            n, sides = tok.text.split("d")
            n = int(n) if n else 1
            if n < 1 or int(sides) < 1:
                self.error("dice need at least one die of at least one side", tok)
            return self.call("dice", [n, int(sides)], tok), tok
        if tok.kind == "name":
            self.take()
            self.take("op", "(")
            args = []
            if self.peek().text != ")":
                args.append(self.arg())
                while self.peek().text == ",":
                    self.take()
                    args.append(self.arg())
            self.take("op", ")")
            return self.call(tok.text, args, tok), tok
        if tok.text == "(":
            self.take()
            value, _ = self.expr()
            self.take("op", ")")
            return value, tok
        got = "the end" if tok.kind == "end" else repr(tok.text)
        self.error(f"expected a number, dice or a distribution, found {got}")

    def arg(self):
        neg = False
        if self.peek().text == "-":
            self.take()
            neg = True
        tok = self.take("number")
        return -float(tok.text) if neg else float(tok.text)

    def call(self, name, args, tok):
        if name not in CONSTRUCTORS or not hasattr(self.dist, name):
            known = ", ".join(n for n in CONSTRUCTORS if hasattr(self.dist, n))
            self.error(f"unknown distribution {name!r} (known: {known})", tok)
        lo, hi = CONSTRUCTORS[name]
        if not lo <= len(args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            self.error(f"{name}() takes {want} argument(s), got {len(args)}", tok)
        for j in _INTEGER_ARGS.get(name, ()):
            if j < len(args):
                if args[j] != int(args[j]):
                    self.error(f"argument {j + 1} of {name}() must be an integer", tok)
                args[j] = int(args[j])
        try:
            return getattr(self.dist, name)(*args)
        except (ValueError, TypeError) as err:
            shown = ", ".join(f"{a:g}" for a in args)
            self.error(f"{name}({shown}): {err}", tok)

    def apply(self, op, left, right):
        try:
            if op.text == "+":
                return left + right
            if op.text == "-":
                return left - right
            return left * right
        except (ValueError, TypeError) as err:
            self.error(str(err), op)


def parse(text: str):
    """Evaluate an expression to a number or a `probconv.distributions.Distribution`.

    Examples
    --------
    >>> from probconv._expr import parse
    >>> d = parse("2d6 + 1")
    >>> round(float(d.mean()), 12)
    8.0
    """
    from . import distributions as dist

    return _Parser(text, dist).parse()
