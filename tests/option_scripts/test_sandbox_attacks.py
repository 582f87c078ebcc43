"""Attacks on the sandbox: each is refused with the line, or contained, and the host goes on.

The published RestrictedPython escapes come first, named by advisory; then the obvious
ones; then the walls behind RestrictedPython (the worker's limits, the answers the host
accepts).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from idmflow.option_scripts import Sandbox
from idmflow.option_scripts.answers import evaluation_from, rule_results_from
from idmflow.option_scripts.plain import scrub
from idmflow.option_scripts.wire import ProtocolError

#: what would show that a host object, an address or a host path reached a message
LEAKS = ("<built-in", "<function", "<class", "<module", "<bound", "<generator", " at 0x",
         "/work/", sys.prefix, ".py", "Traceback")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


PUBLISHED = [
    # CVE-2023-37271 (GHSA-wqc8-x2pr-7jqh): a generator's frame walks out of the sandbox
    ("g = (i for i in [1])\nx = g.gi_frame.f_back.f_back.f_globals", 2, "'gi_frame'"),
    ("def gen():\n    return (i for i in [1])\nf = gen().gi_frame", 3, "'gi_frame'"),
    ("g = (i for i in [1])\nc = g.gi_code", 2, "'gi_code'"),
    # CVE-2023-41039 (GHSA-xjw2-6jm9-rf67): format strings read any attribute
    ("x = '{0.__class__.__mro__}'.format(1)", 1, "str.format() is not available"),
    ("f = '{.__class__}'.format_map", 1, "str.format_map() is not available"),
    ("x = '{a.real}'.format_map({'a': 1})", 1, "str.format_map() is not available"),
    ("fmt = 'x'.format\nx = fmt()", 1, "str.format() is not available"),
    ("x = str.format('{0.__class__}', 1)", 1, "'format' is not available on a function"),
    # CVE-2024-47532: AttributeError.obj hands out the object that had no such attribute
    ("try:\n    ''.foo\nexcept AttributeError as e:\n    x = e.obj", 4,
     "'obj' is not available on an exception"),
    ("try:\n    ''.foo\nexcept AttributeError as e:\n    x = e.name", 4,
     "'name' is not available on an exception"),
    # CVE-2025-22153 (GHSA-gmj9-h825-chq2): try/except* type confusion in CPython
    ("try:\n    x = 1\nexcept* ValueError:\n    pass", 1, "'except*' is not allowed"),
    # CVE-2026-55830 (GHSA-ffg3-p8fm-mjx2): positional-only parameters shadow guard hooks
    ("def f(_getattr_=None, /):\n    return 1", 1, "'_getattr_' is not allowed"),
    ("def f(_write_=None, /):\n    return 1", 1, "'_write_' is not allowed"),
    ("f = lambda _getitem_=1, /: 0", 1, "'_getitem_' is not allowed"),
    ("def f(_print_=None, /):\n    return 1", 1, "'_print_' is not allowed"),
    # CVE-2026-76825 (GHSA-hp3v-5vw7-fx9w): string.Formatter resolves fields without guards
    ("import string\nx = string.Formatter().get_field('0.__class__', [1], {})", 1,
     "'import' is not allowed"),
    ("x = string.Formatter", 1, "'string' is not defined"),
    # RestrictedPython #142/#143/#282: getattr chains and str subclasses as attribute names
    ("x = getattr(getattr([], '__class__'), '__base__')", 1, "'getattr' is not available"),
    ("class S(str):\n    pass", 1, "classes are not allowed"),
    # PrintCollector: print is rewritten to _print_, which hands out _getattr_
    ("print('hi')", 1, "print() is not available"),
    ("x = printed", 1, "print() is not available"),
]

OBVIOUS = [
    ("x = ().__class__.__bases__[0].__subclasses__()", 1, "'__class__' is not allowed"),
    ("x = getattr(1, 'real')", 1, "'getattr' is not available"),
    ("setattr(len, 'x', 1)", 1, "'setattr' is not available"),
    ("import os", 1, "'import' is not allowed"),
    ("from os import system", 1, "'import' is not allowed"),
    ("x = __import__('os')", 1, "'__import__' is not allowed"),
    ("x = open('/etc/passwd').read()", 1, "'open' is not available"),
    ("x = (lambda: 0).__globals__", 1, "'__globals__' is not allowed"),
    ("def f():\n    return 1\nx = f.__code__", 3, "'__code__' is not allowed"),
    ("x = type(1)", 1, "'type' is not available"),
    ("x = vars()", 1, "'vars' is not available"),
    ("x = dir()", 1, "'dir' is not available"),
    ("x = globals()", 1, "'globals' is not available"),
    ("x = locals()", 1, "'locals' is not available"),
    ("exec('import os')", 1, "'exec' is not available"),
    ("x = eval('1')", 1, "'eval' is not available"),
    ("x = compile('1', 'f', 'eval')", 1, "'compile' is not available"),
    ("x = breakpoint()", 1, "'breakpoint' is not available"),
    ("x = input()", 1, "'input' is not available"),
    ("x = __builtins__", 1, "'__builtins__' is not allowed"),
    ("raise SystemExit", 1, "'SystemExit' is not available"),
    ("raise SystemExit(0)", 1, "'SystemExit' is not available"),
    ("raise KeyboardInterrupt", 1, "'KeyboardInterrupt' is not available"),
    ("exit()", 1, "'exit' is not available"),
    ("import os\nos._exit(0)", 1, "'import' is not allowed"),
    ("x = 1\nx._exit = 0", 2, "setting or deleting the attribute '_exit' is not allowed"),
    ("len.x = 1", 1, "setting or deleting the attribute 'x' is not allowed"),
    ("x = sorted.__self__", 1, "'__self__' is not allowed"),
    ("x = ''.join.__self__", 1, "'__self__' is not allowed"),
    ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    tb = e.__traceback__", 4,
     "'__traceback__' is not allowed"),
    ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    x = e.with_traceback(None)", 4,
     "'with_traceback' is not available on an exception"),
    # str's methods are offered as functions too (sorted(key=str.lower)), nothing else of it
    ("x = str.mro()", 1, "'mro' is not available on a function"),
    ("x = list.append", 1, "'append' is not available on a class"),
    ("x = dict.fromkeys(['a'])", 1, "'fromkeys' is not available on a class"),
    ("x = len.x", 1, "'x' is not available on a built-in function or method"),
    ("x = ''.encode('utf-8')", 1, "'encode' is not available on a str object"),
    ("x = [1][0].real", 1, "'real' is not available on an int object"),
    ("x = range(3)[0:2].start", 1, "'start' is not available"),
    ("x = len[0]", 1, "a built-in function or method cannot be indexed"),
    ("try:\n    1 / 0\nexcept:\n    pass", 3, "a bare 'except:' is not allowed"),
    ("def g():\n    yield 1", 2, "'yield' is not allowed"),
    ("def g():\n    yield from [1]", 2, "'yield' is not allowed"),
    ("with x:\n    pass", 1, "'with' is not allowed"),
    ("x = 1\ndef f():\n    global x\n    x = 2", 3, "'global' is not allowed"),
    ("match 1:\n    case 1:\n        pass", 1, "'match' is not allowed"),
    ("@len\ndef f():\n    pass", 2, "decorators are not allowed"),
    ("async def f():\n    pass", 1, "'async def' is not allowed"),
    ("x: int = 1", 1, "annotated assignments are not allowed"),
    ("_private = 1", 1, "'_private' is not allowed"),
    ("x = isinstance(1, type)", 1, "'type' is not available"),
    ("x = memoryview(b'a')", 1, "'memoryview' is not available"),
    ("x = object()", 1, "'object' is not available"),
    ("x = super()", 1, "'super' is not available"),
    ("x = iter([1]).__next__", 1, "'iter' is not available"),
    # identifiers are NFKC-normalised: fullwidth letters are still '__class__' and 'format'
    ("x = ().__\uff43lass__", 1, "'__class__' is not allowed"),
    ("x = ().\uff3f\uff3fclass\uff3f\uff3f", 1, "invalid character"),
    ("x = '{0}'.\uff46ormat(1)", 1, "str.format() is not available"),
]

PRINTED_FORMS = [
    ("x = f'{len}'", 1, "formatting of a built-in function or method is not allowed"),
    ("x = f'{len!r}'", 1, "formatting of a built-in function or method is not allowed"),
    ("x = f'{[len]}'", 1, "formatting of a built-in function or method is not allowed"),
    ("x = f'{1:{len}}'", 1, "formatting of a built-in function or method is not allowed"),
    ("x = f'{min=}'", 1, "formatting of a built-in function or method is not allowed"),
    ("x = str(len)", 1, "str() of a built-in function or method is not allowed"),
    ("x = str([1, {'a': min}])", 1, "str() of a built-in function or method is not allowed"),
    ("def f():\n    return 1\nx = str(f)", 3, "str() of a function is not allowed"),
    ("x = str(int)", 1, "str() of a class is not allowed"),
    ("x = str((i for i in []))", 1, "str() of a generator is not allowed"),
    ("x = repr(min)", 1, "'repr' is not available"),
    ("x = id(1)", 1, "'id' is not available"),
    ("x = hash(1)", 1, "'hash' is not available"),
    ("x = format(len)", 1, "'format' is not available"),
    ("x = ascii(len)", 1, "'ascii' is not available"),
    ("x = '%s' % len", 1, "'%' formatting of a built-in function or method is not allowed"),
    ("x = '%r' % (min,)", 1, "'%' formatting of a built-in function or method is not allowed"),
    ("x = '%(a)s' % {'a': len}", 1, "'%' formatting of a built-in function or method"),
    ("x = '%s'\nx %= len", 2, "'%' formatting of a built-in function or method"),
    ("x = b'%s' % (len,)", 1, "'%' formatting of a built-in function or method"),
    ("x = {}[len]", 1, "KeyError: (raised with a built-in function or method, which is not "
                       "plain data)"),
    ("raise ValueError(min)", 1, "ValueError: (raised with a built-in function or method"),
    ("assert False, len", 1, "AssertionError: (raised with a built-in function or method"),
    ("try:\n    raise KeyError(len)\nexcept KeyError as e:\n    x = str(e)", 4,
     "str() of an exception is not allowed"),
    ("try:\n    raise KeyError(len)\nexcept KeyError as e:\n    x = f'{e}'", 4,
     "formatting of an exception is not allowed"),
    ("x = int(len)", 1, "TypeError: int() argument must be"),
    ("x = len + 1", 1, "TypeError: unsupported operand type(s)"),
]

VALUES = [
    ("x = len", 1, "'x' is a built-in function or method"),
    ("x = int", 1, "'x' is a class"),
    ("x = ValueError", 1, "'x' is a class"),
    ("x = ValueError('a')", 1, "'x' is an exception"),
    ("def f():\n    pass\nx = [f]", 3, "'x' is a function"),
    ("x = {'rule': lambda: 0}", 1, "'x' is a function"),
    ("x = ''.join", 1, "'x' is a built-in function or method"),
    ("x = (i for i in [1])", 1, "'x' is a generator"),
    ("x = {'a': 1}.items()", 1, "'x' is a dict_items object"),
    ("x = range(3)", 1, "'x' is a range"),
    ("x = b'bytes'", 1, "'x' is bytes"),
    ("x = []\nx.append(x)", 1, "'x' is nested more than 100 levels deep (or containing itself)"),
    ("x = 10 ** 5000", 1, "'x' is an integer with more than 4000 digits"),
]

ATTACKS = PUBLISHED + OBVIOUS + PRINTED_FORMS + VALUES


@pytest.mark.parametrize("source, line, fragment", ATTACKS, ids=[s for s, _, _ in ATTACKS])
def test_attack_is_refused_with_its_line(sandbox: Sandbox, source: str, line: int,
                                         fragment: str) -> None:
    evaluation = sandbox.evaluate(source)
    assert not evaluation.ok
    assert evaluation.values == {} or "is" in fragment  # a bad value leaves the others
    assert any(p.line == line and p.message.startswith(f"line {line}: ") and fragment in p.message
               for p in evaluation.problems), evaluation.problems
    for problem in evaluation.problems:
        assert not any(leak in problem.message for leak in LEAKS), problem.message
    assert sandbox.evaluate("after = 1").values == {"after": 1}


RULE_ATTACKS = [
    "    return card.__class__",
    "    return card.copy.__self__",
    "    return [len]",
    "    return str(card.get)",
    "    card['x'] = 1\n    return 1",
    "    card |= {'x': 1}\n    return card",
]


@pytest.mark.parametrize("body", RULE_ATTACKS)
def test_a_rule_cannot_reach_the_host_through_its_items(sandbox: Sandbox, body: str) -> None:
    items = [{"type": "employee"}]
    results = sandbox.call_rule(f"def Rule(card):\n{body}", "Rule", items)
    if results.ok:  # contained: the rule changed only its own copy, and returned plain data
        assert results.results == [{"type": "employee", "x": 1}]
    else:
        assert results.results == []
        assert all(p.line is not None for p in results.problems)
    assert items == [{"type": "employee"}]


def test_the_compile_check_and_the_builtins_offer_the_same_names() -> None:
    from idmflow.option_scripts.guards import SAFE_BUILTINS
    from idmflow.option_scripts.policy import OFFERED
    assert {n for n in SAFE_BUILTINS if not n.startswith("_")} | {"True", "False", "None"} \
        == OFFERED


def test_the_worker_holds_nothing_of_the_host(sandbox: Sandbox) -> None:
    """White box: the worker's own limits, environment and descriptors (Linux /proc)."""
    sandbox.evaluate("x = 1")
    worker = sandbox._slot.worker
    assert worker is not None
    proc = f"/proc/{worker.process.pid}"
    if not os.path.exists(proc):
        pytest.skip("no /proc on this system")
    limits = {line[:26].strip(): line[26:].split()[:2]
              for line in open(f"{proc}/limits").read().splitlines()[1:]}
    assert limits["Max address space"] == [str(sandbox.limits.memory_bytes)] * 2
    assert limits["Max open files"][0] == str(len(os.listdir(f"{proc}/fd")))
    assert limits["Max processes"] == ["0", "0"]
    assert limits["Max core file size"] == ["0", "0"]
    assert limits["Max file size"] == ["0", "0"]
    # nothing of the host's environment: only the fixed hash seed every worker shares
    assert open(f"{proc}/environ").read() == "PYTHONHASHSEED=0\0"
    assert os.readlink(f"{proc}/cwd") == "/"
    assert os.getpgid(worker.process.pid) != os.getpgid(0)


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


FORGED = [
    {"values": [], "rules": {}, "lines": {}, "problems": []},
    {"values": {"__class__": 1}, "rules": {}, "lines": {}, "problems": []},
    {"values": {"x": 1}, "rules": {"f": [["a"], 2, 1]}, "lines": {}, "problems": []},
    {"values": {"x": 1}, "rules": {"f": [["a b"], 0, 1]}, "lines": {}, "problems": []},
    {"values": {}, "rules": {}, "lines": {"x": "1"}, "problems": []},
    {"values": {}, "rules": {}, "lines": {}, "problems": [[1]]},
    {"values": {}, "rules": {}, "lines": {}, "problems": [["1", "m"]]},
    {"values": {}, "rules": {}, "lines": {}, "problems": None},
    {"values": {"x": _nested(150)}, "rules": {}, "lines": {}, "problems": []},
]


@pytest.mark.parametrize("answer", FORGED, ids=range(len(FORGED)))
def test_the_host_refuses_a_forged_evaluation(answer: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        evaluation_from(answer)


@pytest.mark.parametrize("answer", [{"results": [1], "problems": []},
                                    {"results": [1, 2], "problems": [[None, "x"]]},
                                    {"results": {"a": 1}, "problems": []}])
def test_the_host_refuses_forged_rule_results(answer: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        rule_results_from(answer, 2)


def test_messages_are_scrubbed_of_reprs_and_paths() -> None:
    forged = evaluation_from({"values": {}, "rules": {}, "lines": {}, "problems": [
        [3, "line 3: <built-in function len> at 0x7f00 in /usr/lib/python3.11/os.py" + "x" * 900]]})
    (problem,) = forged.problems
    assert problem.line == 3
    assert not any(leak in problem.message for leak in LEAKS)
    assert len(problem.message) <= 500
    assert scrub("<function f at 0x1234> and <x.y object at 0xff>") == "<hidden> and <hidden>"
