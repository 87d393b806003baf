"""A `qwenkit serve` subprocess for the benchmarks: started on a free port, ready when /health says 200."""
from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class ServeProcess:
    def __init__(self, binary: str, model: str, extra: list[str], log_prefix: str):
        self.port = free_port()
        self.log = open(f"/tmp/{log_prefix}_{self.port}.log", "w")
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port),
                                      "--served-model-name", "bench", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("server not healthy within 300 s")
            time.sleep(0.2)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
