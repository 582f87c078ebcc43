"""What a script may say: RestrictedPython's compile step, tightened for option scripts.

RestrictedPython rewrites attribute, item and iteration access into calls of guard
functions (`guards` supplies them) and refuses names beginning with "_". On top of that this
policy refuses, at compile time and with the line, everything an option script has no use
for and that has carried sandbox escapes: imports, classes, `with`, `yield`, `global`,
decorators, bare `except:`, attribute assignment, `print`, and any Python built-in the
sandbox does not offer (unless the script binds that name itself). It also routes every
f-string value and every `%` through a guard, because Python formats those in C without
asking anyone: that is how `f"{len}"` or `"%s" % len` would print a host object.

Only the worker imports this module (it needs RestrictedPython); the host never compiles.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType

from RestrictedPython.transformer import (IOPERATOR_TO_STR, RestrictingNodeTransformer,
                                          copy_locations)

#: the built-ins a script may use; `guards.SAFE_BUILTINS` provides exactly these
OFFERED = frozenset({
    "len", "min", "max", "sum", "sorted", "round", "abs", "int", "float", "str", "bool",
    "list", "dict", "set", "tuple", "range", "enumerate", "zip", "any", "all", "isinstance",
    "reversed", "divmod", "chr", "ord",
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "IndexError",
    "KeyError", "LookupError", "NameError", "OverflowError", "RecursionError", "RuntimeError",
    "TypeError", "ValueError", "ZeroDivisionError", "True", "False", "None",
})
#: Python's other built-ins (open, getattr, type, exec, vars, SystemExit, ...)
UNOFFERED = frozenset(name for name in dir(builtins) if not name.startswith("_")) - OFFERED

_REFUSED_NODES = {
    "AnnAssign": "annotated assignments are not allowed; write 'name = value'",
    "Match": "'match' is not allowed; use if/elif/else",
    "Nonlocal": "'nonlocal' is not allowed; return a value instead",
    "TryStar": "'except*' is not allowed (it has been used to escape the sandbox); "
               "use 'except'",
    "AsyncFunctionDef": "'async def' is not allowed", "AsyncFor": "'async for' is not allowed",
    "AsyncWith": "'async with' is not allowed", "Await": "'await' is not allowed",
}
_UNDERSCORE = re.compile(r'"(?P<name>[^"]*)" is an invalid (?:variable|attribute) name '
                         r'because it starts with "_"')
_INSPECT = re.compile(r'"(?P<name>[^"]*)" is a restricted name')


@dataclass(frozen=True, slots=True)
class Compiled:
    """A script compiled for the worker, or the problems that keep it from compiling."""

    code: CodeType | None
    #: (line, message) pairs, sorted by line
    problems: tuple[tuple[int | None, str], ...]
    #: top-level name -> line of its last binding (assignment, def, for target)
    lines: dict[str, int]


def compile_script(source: str, filename: str) -> Compiled:
    """Parse, check and compile `source`; never raises for anything in the script.

    A leading byte-order mark (which Windows editors write) is not part of the script.
    """
    source = source.removeprefix("\ufeff")
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        return Compiled(None, ((exc.lineno, f"{exc.msg} (syntax error)"),), {})
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes, absurd nesting
        return Compiled(None, ((None, f"the script cannot be parsed: {exc}"),), {})
    lines = dict(_top_level_lines(tree.body))  # before RestrictedPython rewrites the tree
    policy = _Policy(_bound_names(tree))
    try:
        tree = policy.visit(tree)
    except RecursionError:
        return Compiled(None, ((None, "the script is nested too deeply; simplify it"),), {})
    if policy.problems:
        return Compiled(None, tuple(sorted(dict.fromkeys(policy.problems),
                                           key=lambda p: p[0] or 0)), {})
    try:
        code = compile(tree, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        return Compiled(None, ((line, f"the script cannot be compiled: {exc}"),), {})
    return Compiled(code, (), lines)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with the refusals and rewrites described above."""

    def __init__(self, bound: frozenset[str]) -> None:
        super().__init__()
        self.bound = bound
        self.problems: list[tuple[int | None, str]] = []

    def error(self, node: ast.AST, info: str) -> None:
        self.problems.append((getattr(node, "lineno", None), _reword(info)))

    def warn(self, node: ast.AST, info: str) -> None:
        """RestrictedPython's warnings (unused 'printed') do not apply: print is refused."""

    def not_allowed(self, node: ast.AST) -> None:
        name = type(node).__name__
        self.error(node, _REFUSED_NODES.get(name, f"'{name}' statements are not allowed"))

    def refuse(self, node: ast.AST, info: str) -> ast.AST:
        self.error(node, info)
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self.refuse(node, "'import' is not allowed: option scripts use only the "
                                 "built-ins they are given")

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self.refuse(node, "classes are not allowed; use dicts, lists and functions")

    def visit_With(self, node: ast.With) -> ast.AST:
        return self.refuse(node, "'with' is not allowed")

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        return self.refuse(node, "'yield' is not allowed; return a list instead")

    visit_YieldFrom = visit_Yield  # type: ignore[assignment]

    def visit_Global(self, node: ast.Global) -> ast.AST:
        return self.refuse(node, "'global' is not allowed; return a value instead")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.type is None:
            # a bare except would also catch the sandbox's own CPU-limit signal
            self.error(node, "a bare 'except:' is not allowed; name the exception, "
                             "e.g. 'except ValueError:' or 'except Exception:'")
        return super().visit_ExceptHandler(node)  # type: ignore[return-value]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.decorator_list:
            self.error(node, "decorators are not allowed")
        return super().visit_FunctionDef(node)  # type: ignore[return-value]

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if not isinstance(node.ctx, ast.Load):
            self.error(node, f"setting or deleting the attribute '{node.attr}' is not allowed")
        return super().visit_Attribute(node)  # type: ignore[return-value]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("print", "printed"):
            return self.refuse(node, "print() is not available: option scripts have no "
                                     "output; assign the value to a name instead")
        if isinstance(node.ctx, ast.Load) and node.id in UNOFFERED and node.id not in self.bound:
            return self.refuse(node, f"'{node.id}' is not available in option scripts")
        return super().visit_Name(node)  # type: ignore[return-value]

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """f"{x}": only plain data may be formatted (`_plain_` refuses the rest)."""
        node = self.node_contents_visit(node)
        node.value = _call("_plain_", node.value, like=node.value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """`a % b`: string formatting only of plain data (`_mod_` checks)."""
        node = self.node_contents_visit(node)
        if isinstance(node.op, ast.Mod):
            return _call("_mod_", node.left, node.right, like=node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.AST] | None:
        """`d[k] += 1` becomes `_augitem_(d, k, "+=", 1)`; RestrictedPython refuses it."""
        target = node.target
        if not isinstance(target, ast.Subscript):
            return super().visit_AugAssign(node)  # type: ignore[return-value]
        if isinstance(target.slice, ast.Slice):
            return self.refuse(node, "augmented assignment to a slice is not allowed")
        call = _call("_augitem_", self.visit(target.value), self.visit(target.slice),
                     ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value),
                     like=node)
        statement = ast.Expr(call)
        copy_locations(statement, node)
        return statement


def _call(function: str, *args: ast.expr, like: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(function, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, like)  # type: ignore[arg-type]
    return call


def _reword(info: str) -> str:
    """RestrictedPython's messages, said in the words of an option script's author."""
    if match := _UNDERSCORE.search(info):
        return (f"'{match['name']}' is not allowed: names beginning with '_' belong to "
                "Python's internals")
    if match := _INSPECT.search(info):
        return f"'{match['name']}' is not allowed: it reaches Python's internals"
    if info.startswith(("Exec calls", "Eval calls")):
        return f"'{info.split()[0].lower()}' is not available in option scripts"
    return info


def _bound_names(tree: ast.AST) -> frozenset[str]:
    """Every name the script binds anywhere: its own `type` or `id` is no built-in."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return frozenset(names)


def _top_level_lines(body: list[ast.stmt]) -> Iterator[tuple[str, int]]:
    """(name, line) for each module-level binding, in source order (the last one wins)."""
    for statement in body:
        if isinstance(statement, ast.FunctionDef):
            yield statement.name, statement.lineno
            continue
        for node in _walk_scope(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                yield node.id, node.lineno
        if isinstance(statement, (ast.If, ast.For, ast.While, ast.Try)):
            for block in (statement.body, statement.orelse, getattr(statement, "finalbody", []),
                          *(handler.body for handler in getattr(statement, "handlers", []))):
                yield from _top_level_lines(block)


def _walk_scope(statement: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of `statement` itself, not of nested blocks, lambdas or comprehensions."""
    nested = {id(s) for field in ("body", "orelse", "finalbody", "handlers")
              for s in getattr(statement, field, [])}
    todo: list[ast.AST] = [statement]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for child in ast.iter_child_nodes(node)
                    if id(child) not in nested
                    and not isinstance(child, (ast.Lambda, ast.comprehension)))
