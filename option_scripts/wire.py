"""The protocol between host and worker: length-prefixed JSON frames over two pipes.

JSON and nothing else crosses, on purpose: decoding JSON can only ever produce dicts,
lists, strings, numbers, booleans and None, so even a worker taken over by an escaped
script cannot hand the host an object (pickle, which multiprocessing uses, would let it run
code in the host). Each frame is an 8-byte big-endian length, then that many bytes of
UTF-8 JSON. The host side reads and writes with a deadline and a size limit, because the
worker is not trusted to answer, to answer in time, or to answer briefly.
"""

from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Callable
from typing import Any

_HEADER = 8


class ProtocolError(Exception):
    """The other side sent something that is not a frame of the protocol."""


def encode(message: Any, *, refuse: Callable[[Any], Any] | None = None) -> bytes:
    """A frame holding `message` (plain data); tuples become lists.

    Args:
        refuse: called with any object JSON cannot hold; it raises TypeError.

    Raises:
        ValueError: NaN or Infinity (not JSON), or a lone surrogate (not UTF-8).
    """
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=refuse).encode("utf-8")
    return len(body).to_bytes(_HEADER, "big") + body


def decode(body: bytes) -> Any:
    """The message in a frame's body."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError covers UnicodeDecodeError
        raise ProtocolError(f"not JSON: {type(exc).__name__}") from exc


def read_blocking(fd: int) -> bytes | None:
    """The next frame's body (worker side, which may wait forever); None at end of input."""
    header = _read_exactly(fd, _HEADER)
    if header is None:
        return None
    body = _read_exactly(fd, int.from_bytes(header, "big"))
    if body is None:
        raise ProtocolError("input ended inside a frame")
    return body


def write_blocking(fd: int, frame: bytes) -> None:
    """Write a whole frame (worker side)."""
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(fd: int, frame: bytes, deadline: float) -> None:
    """Write `frame` to the non-blocking `fd` before `deadline` (host side).

    Raises:
        TimeoutError: the worker did not take it in time.
        BrokenPipeError: the worker is gone.
    """
    view = memoryview(frame)
    while view:
        _wait(fd, deadline, write=True)
        try:
            view = view[os.write(fd, view[:1 << 20]):]
        except BlockingIOError:
            continue


def receive(fd: int, deadline: float, max_bytes: int) -> bytes:
    """Read one frame's body from the non-blocking `fd` before `deadline` (host side).

    Raises:
        TimeoutError: no whole frame in time.
        EOFError: the worker is gone.
        ProtocolError: the frame is larger than `max_bytes`.
    """
    header = _receive_exactly(fd, _HEADER, deadline)
    size = int.from_bytes(header, "big")
    if size > max_bytes:
        raise ProtocolError(f"answer of {size} bytes, more than the {max_bytes} allowed")
    return _receive_exactly(fd, size, deadline)


def _receive_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks = []
    while size:
        _wait(fd, deadline, write=False)
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError("the worker closed its output")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    # poll, not select: a busy host may hold more than FD_SETSIZE (1024) descriptors
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(max(1, int(left * 1000))):
        raise TimeoutError
