"""A minimal terminal for benchmarks: a real pseudo-terminal, a process in it, and a
small screen model of what that process drew.

The process gets the slave side of a pty (as its controlling terminal, with a window size
set by TIOCSWINSZ), so it sees exactly what it sees in a terminal emulator. A reader thread
drains the master side, stamps every chunk with `time.monotonic()` as it arrives, and feeds
it to `Screen`, a small VT parser that keeps only the characters on each cell (no colours):
cursor moves, erases, printable text (wide characters take two cells), and nothing else.

Like a terminal that supports synchronized output (kitty, WezTerm, iTerm2, Windows Terminal,
VS Code...), it answers the DECRQM query for mode 2026, so an app that asks wraps each frame
in `CSI ? 2026 h` ... `CSI ? 2026 l`; the screen is then judged only at frame ends, which is
what such a terminal shows. Output outside such a pair is judged after every chunk.

`wait_for(predicate)` returns the arrival time of the first chunk after which the screen
satisfies the predicate; predicates run in the reader thread right after each frame, so
that time is not delayed by the waiting thread's own wake-up.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import queue
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence

ESC = "\x1b"
# The reader thread must get the interpreter back soon after its read returns, while the
# parser thread runs: the default 5 ms switch interval would stamp chunks up to 5 ms late.
sys.setswitchinterval(0.0005)


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def stop_group(proc: subprocess.Popen, signals: tuple[int, ...], wait: float = 5.0) -> None:
    """Send each signal to the process's group in turn until the process has exited."""
    for sig in signals:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue

class Screen:
    """The characters on a cols x rows screen; enough of VT100/xterm for a Textual app."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.saved = (0, 0)
        self.state = "ground"
        self.buf = ""
        self.in_sync = False  # inside CSI ? 2026 h ... l
        self.frames = 0  # synchronized frames completed
        self.replies: list[str] = []  # what the terminal answers (queries seen)

    # -- the screen, read ----------------------------------------------------------------

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.grid]

    def text(self) -> str:
        return "\n".join(self.lines())

    # -- the parser ----------------------------------------------------------------------

    def feed(self, data: str) -> None:
        for ch in data:
            state = self.state
            if state == "ground":
                if ch == ESC:
                    self.state = "esc"
                elif ch >= " " and ch != "\x7f":
                    self._put(ch)
                elif ch == "\r":
                    self.x = 0
                elif ch == "\n":
                    self._linefeed()
                elif ch == "\b":
                    self.x = max(0, self.x - 1)
            elif state == "esc":
                if ch == "[":
                    self.state, self.buf = "csi", ""
                elif ch == "]":
                    self.state, self.buf = "osc", ""
                elif ch in "PX^_":
                    self.state = "string"
                elif ch in "()*+#%":
                    self.state = "charset"
                else:
                    if ch == "7":
                        self.saved = (self.x, self.y)
                    elif ch == "8":
                        self.x, self.y = self.saved
                    elif ch == "c":
                        self._erase(0, 0, self.cols, self.rows)
                    self.state = "ground"
            elif state == "csi":
                if "\x40" <= ch <= "\x7e":
                    self._csi(self.buf, ch)
                    self.state = "ground"
                elif ch == ESC:  # broken sequence: start again
                    self.state = "esc"
                else:
                    self.buf += ch
            elif state == "osc":
                if ch == "\x07":
                    self.state = "ground"
                elif ch == ESC:
                    self.state = "string-esc"
            elif state == "string":
                if ch == ESC:
                    self.state = "string-esc"
                elif ch == "\x07":
                    self.state = "ground"
            elif state == "string-esc":
                self.state = "ground" if ch == "\\" else "string"
            elif state == "charset":
                self.state = "ground"

    def _put(self, ch: str) -> None:
        w = _width(ch)
        if w == 0:
            return
        if self.x + w > self.cols:  # Textual turns autowrap off: stay on the last cell
            self.x = self.cols - w
        row = self.grid[self.y]
        row[self.x] = ch
        if w == 2 and self.x + 1 < self.cols:
            row[self.x + 1] = ""
        self.x = min(self.x + w, self.cols)

    def _linefeed(self) -> None:
        if self.y == self.rows - 1:
            self.grid.pop(0)
            self.grid.append([" "] * self.cols)
        else:
            self.y += 1

    def _erase(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Cells from (x0, y0) up to, not including, (x1, y1) in reading order."""
        for y in range(y0, min(y1 + 1, self.rows)):
            start = x0 if y == y0 else 0
            end = x1 if y == y1 else self.cols
            row = self.grid[y]
            for x in range(start, min(end, self.cols)):
                row[x] = " "

    def _csi(self, body: str, final: str) -> None:
        private = body[:1] if body[:1] in "?<>=" else ""
        intermediate = ""
        while body and body[-1] in " !\"#$%&'()*+,-./":
            intermediate = body[-1] + intermediate
            body = body[:-1]
        parts = body[len(private):].split(";") if body[len(private):] else []
        nums = []
        for part in parts:
            head = part.split(":")[0]
            nums.append(int(head) if head.isdigit() else 0)

        def n(i: int, default: int = 1) -> int:
            return nums[i] if len(nums) > i and nums[i] else default

        if private == "?" and final in "hl" and not intermediate:
            if 2026 in nums:
                if final == "h":
                    self.in_sync = True
                else:
                    self.in_sync = False
                    self.frames += 1
            return
        if final == "p" and intermediate == "$" and private == "?":  # DECRQM: mode query
            mode = nums[0] if nums else 0
            # 2026 (synchronized output): supported, reset; anything else: not recognised
            self.replies.append(f"\x1b[?{mode};{2 if mode == 2026 else 0}$y")
            return
        if private or intermediate:
            return
        if final in "Hf":
            self.y = min(max(n(0) - 1, 0), self.rows - 1)
            self.x = min(max(n(1) - 1, 0), self.cols - 1)
        elif final == "A":
            self.y = max(0, self.y - n(0))
        elif final in "Be":
            self.y = min(self.rows - 1, self.y + n(0))
        elif final in "Ca":
            self.x = min(self.cols - 1, self.x + n(0))
        elif final == "D":
            self.x = max(0, self.x - n(0))
        elif final == "E":
            self.x, self.y = 0, min(self.rows - 1, self.y + n(0))
        elif final == "F":
            self.x, self.y = 0, max(0, self.y - n(0))
        elif final in "G`":
            self.x = min(max(n(0) - 1, 0), self.cols - 1)
        elif final == "d":
            self.y = min(max(n(0) - 1, 0), self.rows - 1)
        elif final == "J":
            mode = n(0, 0)
            if mode == 0:
                self._erase(self.x, self.y, self.cols, self.rows - 1)
            elif mode == 1:
                self._erase(0, 0, self.x + 1, self.y)
            else:
                self._erase(0, 0, self.cols, self.rows - 1)
        elif final == "K":
            mode = n(0, 0)
            row = self.grid[self.y]
            span = (range(self.x, self.cols) if mode == 0 else
                    range(0, self.x + 1) if mode == 1 else range(self.cols))
            for x in span:
                row[x] = " "
        elif final == "X":
            row = self.grid[self.y]
            for x in range(self.x, min(self.cols, self.x + n(0))):
                row[x] = " "
        elif final == "n" and n(0, 0) == 6:  # cursor position report
            self.replies.append(f"\x1b[{self.y + 1};{self.x + 1}R")
        elif final == "s":
            self.saved = (self.x, self.y)
        elif final == "u":
            self.x, self.y = self.saved


Predicate = Callable[[Screen], bool]


class _Waiter:
    __slots__ = ("after", "at", "event", "predicate")

    def __init__(self, predicate: Predicate, after: float) -> None:
        self.predicate, self.after = predicate, after
        self.event = threading.Event()
        self.at: float | None = None


class PtyTerminal:
    """A process in a pseudo-terminal of `cols` x `rows`, and what it drew."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *, cols: int = 120,
                 rows: int = 40, cwd: str | None = None) -> None:
        self.argv, self.env, self.cols, self.rows, self.cwd = list(argv), dict(env), cols, \
            rows, cwd
        self.screen = Screen(cols, rows)
        self.lock = threading.Lock()
        self.waiters: list[_Waiter] = []
        self.started_at = 0.0
        self.first_output_at: float | None = None
        self.last_output_at: float | None = None
        self.bytes_read = 0
        self.chunks = 0
        self.proc: subprocess.Popen | None = None
        self._master = -1
        self._reader: threading.Thread | None = None
        self._parser: threading.Thread | None = None
        self._inbox: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()
        self._closed = False

    # -- life -----------------------------------------------------------------------------

    def start(self) -> float:
        """Spawn the process; returns the monotonic time just before the spawn."""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self._master = master

        def controlling_tty() -> None:  # runs in the child, after setsid
            with contextlib.suppress(OSError):
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave,
                                     env=self.env, cwd=self.cwd, start_new_session=True,
                                     preexec_fn=controlling_tty, close_fds=True)
        os.close(slave)
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._parser = threading.Thread(target=self._parse, name="pty-parser", daemon=True)
        self._reader.start()
        self._parser.start()
        return self.started_at

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, data: bytes) -> float:
        """Write key bytes as a terminal does; returns the monotonic time of the write."""
        at = time.monotonic()
        os.write(self._master, data)
        return at

    def close(self, timeout: float = 5.0) -> int | None:
        """End the process (TERM to its session, then KILL) and close the pty."""
        proc = self.proc
        if proc is not None:
            stop_group(proc, (signal.SIGTERM, signal.SIGKILL), timeout)
        self._closed = True
        if self._master >= 0:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = -1
        if self._reader is not None:
            self._reader.join(2)
        if self._parser is not None:
            self._parser.join(2)
        with self.lock:
            for w in self.waiters:
                w.event.set()
            self.waiters.clear()
        return proc.returncode if proc is not None else None

    def wait_exit(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    # -- reading --------------------------------------------------------------------------

    def _read(self) -> None:
        """Read and stamp only: parsing here (our screen model is Python, about a
        microsecond a character) would stamp the next chunk of a big frame late, and the
        bench would time our terminal model instead of the console."""
        inbox = self._inbox
        while not self._closed:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed the slave side (it exited)
                break
            if not data:
                break
            at = time.monotonic()
            if self.first_output_at is None:
                self.first_output_at = at
            self.last_output_at = at
            self.bytes_read += len(data)
            self.chunks += 1
            inbox.put((at, data))
        inbox.put(None)

    def _parse(self) -> None:
        """Feed the chunks to the screen model in order, judging each with the time it
        arrived."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while (item := self._inbox.get()) is not None:
            at, data = item
            with self.lock:
                screen = self.screen
                screen.feed(decoder.decode(data))
                replies, screen.replies = screen.replies, []
                if not screen.in_sync:
                    self._judge(at)
            for reply in replies:
                with contextlib.suppress(OSError):
                    os.write(self._master, reply.encode())

    def _judge(self, at: float) -> None:
        """Run the pending predicates on the screen as it is now (lock held)."""
        done = []
        for w in self.waiters:
            if at >= w.after:
                try:
                    ok = w.predicate(self.screen)
                except Exception:  # a predicate bug must not kill the reader
                    ok = False
                if ok:
                    w.at = at
                    w.event.set()
                    done.append(w)
        for w in done:
            self.waiters.remove(w)

    def watch(self, predicate: Predicate, *, after: float = 0.0) -> _Waiter:
        """Start watching for `predicate` (see `wait_for`); `result()` collects it."""
        waiter = _Waiter(predicate, after)
        with self.lock:
            self.waiters.append(waiter)
        return waiter

    def result(self, waiter: _Waiter, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while not waiter.event.wait(0.05):
            if time.monotonic() > deadline or not self.alive() or self._closed:
                break
        with self.lock:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
        return waiter.at

    def wait_for(self, predicate: Predicate, timeout: float, *, after: float = 0.0,
                 check_now: bool = False) -> float | None:
        """The arrival time of the first output at or after `after` that leaves the screen
        satisfying `predicate`, or None after `timeout` seconds (or if the process ended).
        `check_now` also accepts the screen as it already is (time: now)."""
        with self.lock:
            if check_now and predicate(self.screen):
                return time.monotonic()
        return self.result(self.watch(predicate, after=after), timeout)

    def snapshot(self) -> list[str]:
        with self.lock:
            return self.screen.lines()

    def check(self, predicate: Callable[[Screen], object]) -> object:
        with self.lock:
            return predicate(self.screen)
