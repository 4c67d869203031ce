#!/usr/bin/env python3
"""A bounded soak of `envcredit serve`: clients over the rate limit for a minute, nothing breaks.

Starts the already-built debug binary (`target/debug/envcredit`, or under `CARGO_TARGET_DIR`;
`--binary` for another) in demo mode on a temporary SQLite database and a free loopback port,
with "today" fixed and the rate limits at their defaults, except that 127.0.0.1 is a trusted
proxy, so that each client is told apart by the `X-Forwarded-For` address it sends. Then for
`--duration` seconds `--clients` clients, each with its own forwarded address and its own
keep-alive connection, each send requests at twice the per-client sustained limit, across a mix
of real routes (institution JSON and page, search, flags, batch flags, lists, years, statistics,
`/healthz`), with codes and years read from the API first.

It fails (exit code 1, one line per broken requirement) unless:
- no answer is a 5xx, and none is a 4xx other than 429 (every request of the mix is valid);
- 429s were answered (the load exceeded the limit) and 2xx too, and each client got about what
  its quota allows (`burst` plus the sustained rate over the run), no more;
- no connection error (refused, reset, timed out, closed mid-answer);
- memory is flat: the median of the server's VmRSS (sampled every second from /proc) over the
  last 10 s exceeds the median over seconds 10-20 by less than max(8 MiB, 10 %).

It does not build anything (CI runs it after `cargo test`, which builds the binary).
Needs: Python 3 (standard library only), Linux (/proc).
"""

import argparse
import csv
import http.client
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# "Today" of the run, fixed so that every run answers the same questions (demo data: 2023-2025).
TODAY = "2025-10-01"
# Brand words of the demo names (src/demo.rs): searches ask for these.
BRANDS = ["绿源", "清源", "华测", "中环", "蓝天", "碧水", "科达", "正信", "恒信", "天诚"]
# Memory: the warm window (seconds after the load started) and the end window (last seconds).
WARM = (10.0, 20.0)
END_SECONDS = 10.0
GROWTH_MIB = 8.0
GROWTH_SHARE = 0.10
# A client that falls this far behind its schedule starts it again from now (no catch-up burst).
MAX_LAG_S = 1.0


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """The process's resident set size (VmRSS), in KiB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def mib(kib):
    return kib / 1024


class Setup:
    """Requests made to learn the data and the limits: from an address of their own."""

    ADDRESS = "10.200.0.1"

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path, address=None):
        self.conn.request("GET", path, headers={"X-Forwarded-For": address or self.ADDRESS})
        response = self.conn.getresponse()
        body = response.read()
        return response.status, response.headers, body

    def json(self, path):
        status, _, body = self.get(path)
        if status != 200:
            raise SystemExit(f"setup: GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)

    def close(self):
        self.conn.close()


def wait_until_answering(port, process, server_log, timeout=180):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            tail(server_log)
            raise SystemExit(f"envcredit serve exited ({process.returncode}) before answering /healthz")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return json.loads(body)
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise SystemExit(f"envcredit serve did not answer /healthz within {timeout} s")


def tail(server_log, lines=30):
    try:
        text = Path(server_log).read_text(errors="replace").splitlines()
    except OSError:
        return
    log(f"--- envcredit serve log (last {lines} lines)")
    for line in text[-lines:]:
        log(line)


def limits(setup):
    """The per-client quota from the rate-limit headers: (burst, sustained requests a second).
    Also checks that X-Forwarded-For is honoured (two fresh addresses have a full quota each)."""
    _, headers, _ = setup.get("/api/v1/years", address="10.200.0.2")
    policy = headers.get("RateLimit-Policy")
    remaining_a = headers.get("RateLimit-Remaining")
    if not policy or remaining_a is None:
        raise SystemExit("setup: no RateLimit-Policy / RateLimit-Remaining header: are rate limits on?")
    # `<burst>;w=<seconds to refill it>`
    burst_text, _, window = policy.partition(";w=")
    burst, window = int(burst_text), float(window)
    _, headers, _ = setup.get("/api/v1/years", address="10.200.0.3")
    remaining_b = headers.get("RateLimit-Remaining")
    if int(remaining_a) != burst - 1 or remaining_b is None or int(remaining_b) != burst - 1:
        raise SystemExit(
            f"setup: two fresh forwarded addresses should each have {burst - 1} requests left, "
            f"got {remaining_a} and {remaining_b}: X-Forwarded-For is not honoured "
            f"(is 127.0.0.1 a trusted proxy?)"
        )
    return burst, burst / window


def plan(setup):
    """Real requests from the served data: (method, path, body) makers."""
    rows = csv.DictReader(io.StringIO(setup.get("/api/v1/flags.csv")[2].decode("utf-8")))
    codes = sorted({row["code"] for row in rows})
    if len(codes) < 50:
        raise SystemExit(f"setup: the flags CSV lists {len(codes)} institutions; demo data has about 150")
    years_answer = setup.json("/api/v1/years")
    years = [y["year"] for y in (years_answer.get("years") if isinstance(years_answer, dict) else years_answer)]
    if not years:
        raise SystemExit("setup: /api/v1/years lists no year")

    def quote(text):
        return urllib.parse.quote(text)

    routes = [
        # (weight, name, maker(rng) -> (method, path, body))
        (4, "institution JSON", lambda r: ("GET", f"/api/v1/institutions/{r.choice(codes)}", None)),
        (3, "institution page", lambda r: ("GET", f"/institutions/{r.choice(codes)}", None)),
        (1, "institution page (en)", lambda r: ("GET", f"/en/institutions/{r.choice(codes)}", None)),
        (2, "search JSON", lambda r: ("GET", f"/api/v1/institutions?q={quote(r.choice(BRANDS))}", None)),
        (1, "search page", lambda r: ("GET", f"/search?q={quote(r.choice(BRANDS))}", None)),
        (3, "flag", lambda r: ("GET", f"/api/v1/flags/{r.choice(codes)}", None)),
        (1, "batch flags", lambda r: (
            "POST", "/api/v1/flags/batch",
            json.dumps({"as_of": TODAY, "codes": r.sample(codes, 50)}).encode())),
        (1, "home page", lambda r: ("GET", "/", None)),
        (1, "years", lambda r: ("GET", "/api/v1/years", None)),
        (1, "year page", lambda r: ("GET", f"/years/{r.choice(years)}", None)),
        (1, "year results", lambda r: ("GET", f"/api/v1/years/{r.choice(years)}/results", None)),
        (1, "dishonesty list", lambda r: ("GET", "/api/v1/dishonesty-list", None)),
        (1, "dishonesty list page", lambda r: ("GET", "/dishonesty-list", None)),
        (1, "violations", lambda r: ("GET", "/api/v1/violations", None)),
        (1, "changes", lambda r: ("GET", "/api/v1/changes", None)),
        (1, "statistics page", lambda r: ("GET", "/statistics", None)),
    ]
    return routes, len(codes), years


class Client(threading.Thread):
    """One client: its own forwarded address and keep-alive connection, requests on a fixed
    schedule at `rate` a second (counted routes), and a /healthz after every 20th."""

    def __init__(self, index, port, routes, rate, deadline, seed):
        super().__init__(name=f"client-{index}", daemon=True)
        self.address = f"10.77.{index // 250}.{index % 250 + 1}"
        self.port = port
        self.routes = routes
        self.weights = [w for w, _, _ in routes]
        self.rate = rate
        self.deadline = deadline
        self.rng = random.Random(seed * 1000 + index)
        self.gzip = index % 2 == 0
        self.conn = None
        self.statuses = {}
        self.counted_2xx = 0
        self.counted = 0
        self.errors = []
        self.unexpected = []
        self.connections = 0
        self.lag_resets = 0
        self.closed_by = {}
        self.first = None
        self.last = None

    def connect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.connections += 1

    def send(self, method, path, body, name, counted):
        headers = {
            "X-Forwarded-For": self.address,
            "Accept-Encoding": "gzip" if self.gzip else "identity",
            "User-Agent": "envcredit-soak",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as e:
            self.errors.append(f"{method} {path}: {type(e).__name__}: {e}")
            self.connect()
            return
        status = response.status
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if counted:
            self.counted += 1
            if 200 <= status < 300:
                self.counted_2xx += 1
        if status >= 500 or (400 <= status < 500 and status != 429):
            self.unexpected.append(f"{status} {method} {path} ({name})")
        if response.will_close:
            # The server may end a keep-alive connection; that is not an error, open another.
            key = f"{status} {name}"
            self.closed_by[key] = self.closed_by.get(key, 0) + 1
            self.connect()

    def run(self):
        self.connect()
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        sent = 0
        self.first = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                break
            if next_at > now:
                time.sleep(min(next_at - now, self.deadline - now))
                continue
            if now - next_at > MAX_LAG_S:
                next_at = now
                self.lag_resets += 1
            next_at += interval
            _, name, make = self.rng.choices(self.routes, weights=self.weights)[0]
            method, path, body = make(self.rng)
            self.send(method, path, body, name, counted=True)
            sent += 1
            if sent % 20 == 0:
                self.send("GET", "/healthz", None, "healthz", counted=False)
        self.last = time.monotonic()
        self.conn.close()


class Sampler(threading.Thread):
    """The server's VmRSS every second: (seconds since the load started, KiB)."""

    def __init__(self, pid, started):
        super().__init__(name="rss", daemon=True)
        self.pid = pid
        self.started = started
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            value = rss_kib(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - self.started, value))
            self.stop.wait(1.0)


def stop_server(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at least 30)")
    parser.add_argument("--clients", type=int, default=8, help="clients, each with its own address")
    parser.add_argument("--factor", type=float, default=2.0,
                        help="each client's request rate, as a multiple of the sustained limit")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix")
    parser.add_argument("--binary", type=Path, help="the envcredit binary (default: the debug build)")
    args = parser.parse_args()
    if args.duration < WARM[1] + END_SECONDS:
        parser.error(f"--duration must be at least {WARM[1] + END_SECONDS:.0f} s (memory windows)")
    if args.clients < 1 or args.factor <= 1.0:
        parser.error("--clients must be at least 1 and --factor more than 1")

    binary = args.binary or Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "envcredit"
    if not binary.is_file():
        raise SystemExit(f"{binary} does not exist: build it first (cargo build --bin envcredit)")

    # A SIGTERM (CI's timeout) unwinds like Ctrl-C, so that the server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="envcredit-soak-") as tmp:
        work = Path(tmp)
        port = free_port()
        server_log = work / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENVCREDIT_")}
        env.update({
            "ENVCREDIT_DATABASE_URL": str(work / "envcredit.sqlite3"),
            "ENVCREDIT_LISTEN": f"127.0.0.1:{port}",
            "ENVCREDIT_TODAY": TODAY,
            # The loopback peer is a proxy whose X-Forwarded-For names the client.
            "ENVCREDIT_RATE_LIMIT__TRUSTED_PROXIES": '["127.0.0.1/32"]',
            "RUST_LOG": env.get("RUST_LOG", "warn"),
        })
        log(f"== {binary} serve (demo mode) on 127.0.0.1:{port}")
        with open(server_log, "w") as out:
            server = subprocess.Popen([str(binary), "serve"], stdout=out, stderr=subprocess.STDOUT,
                                      env=env, cwd=work)
        try:
            failures = soak(args, binary, server, port, server_log)
        finally:
            stop_server(server)
        if failures:
            tail(server_log)
            for failure in failures:
                log(f"FAIL: {failure}")
            raise SystemExit(1)
        log("soak passed")


def soak(args, binary, server, port, server_log):
    health = wait_until_answering(port, server, server_log)
    if not health.get("demo"):
        raise SystemExit(f"the server is not in demo mode: {health}")
    setup = Setup(port)
    burst, per_second = limits(setup)
    routes, institutions, years = plan(setup)
    setup.close()
    rate = per_second * args.factor
    log(f"== {institutions} institutions, years {years}; limit {per_second:g}/s sustained, burst {burst}; "
        f"{args.clients} clients x {rate:g} req/s for {args.duration:g} s")

    started = time.monotonic()
    sampler = Sampler(server.pid, started)
    sampler.start()
    deadline = started + args.duration
    clients = [Client(i, port, routes, rate, deadline, args.seed) for i in range(args.clients)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=args.duration + 60)
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    alive = server.poll() is None

    return report(args, clients, sampler.samples, elapsed, burst, per_second, rate, alive, binary)


def report(args, clients, samples, elapsed, burst, per_second, rate, alive, binary):
    failures = []
    statuses = {}
    for client in clients:
        for status, n in client.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    errors = [e for c in clients for e in c.errors]
    unexpected = [u for c in clients for u in c.unexpected]
    total = sum(statuses.values())
    classes = {
        "2xx": sum(n for s, n in statuses.items() if 200 <= s < 300),
        "3xx": sum(n for s, n in statuses.items() if 300 <= s < 400),
        "429": statuses.get(429, 0),
        "4xx other": sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 429),
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
    }

    print(f"envcredit soak: {binary}")
    print(f"{args.clients} clients x {rate:g} req/s each ({args.factor:g} x the limit of "
          f"{per_second:g}/s, burst {burst}) for {elapsed:.1f} s")
    print()
    print(f"{'answers':<12}{'count':>9}{'share':>9}")
    for name, n in classes.items():
        print(f"{name:<12}{n:>9}{(n / total if total else 0):>9.1%}")
    print(f"{'conn errors':<12}{len(errors):>9}")
    print(f"{'total':<12}{total:>9}   {total / elapsed:.1f} req/s")

    counted = sum(c.counted for c in clients)
    wanted = rate * elapsed * len(clients)
    allowed = [burst + per_second * ((c.last or 0) - (c.first or 0)) for c in clients]
    got = [c.counted_2xx for c in clients]
    print(f"{'counted':<12}{counted:>9}   {counted / elapsed / len(clients):.1f} req/s per client "
          f"(scheduled {rate:g}; {counted / wanted if wanted else 0:.0%} of the schedule)")
    print(f"{'2xx/client':<12}{min(got):>9}..{max(got)}   (quota allows about {statistics.mean(allowed):.0f})")
    closed_by = {}
    for client in clients:
        for key, n in client.closed_by.items():
            closed_by[key] = closed_by.get(key, 0) + n
    closes = ", ".join(f"{n} after {key}" for key, n in sorted(closed_by.items(), key=lambda kv: -kv[1]))
    print(f"connections opened: {sum(c.connections for c in clients)} for {len(clients)} clients"
          f"{' (the server closed: ' + closes + ')' if closes else ''}; "
          f"schedule restarts after lag: {sum(c.lag_resets for c in clients)}")

    # Memory.
    def window(lo, hi):
        return [kib for t, kib in samples if lo <= t < hi]

    start_kib = samples[0][1] if samples else 0
    warm = window(*WARM)
    end = window(elapsed - END_SECONDS, elapsed + 1)
    print()
    if warm and end:
        warm_kib, end_kib = statistics.median(warm), statistics.median(end)
        growth = end_kib - warm_kib
        limit_kib = max(GROWTH_MIB * 1024, GROWTH_SHARE * warm_kib)
        all_kib = [kib for _, kib in samples]
        print(f"RSS MiB: start {mib(start_kib):.1f}, warm (median {WARM[0]:g}-{WARM[1]:g} s) "
              f"{mib(warm_kib):.1f}, end (median of the last {END_SECONDS:g} s) {mib(end_kib):.1f}; "
              f"growth {mib(growth):+.1f} (limit {mib(limit_kib):.1f}); "
              f"min {mib(min(all_kib)):.1f}, max {mib(max(all_kib)):.1f}, {len(samples)} samples")
        every = [f"{t:.0f}s:{mib(kib):.1f}" for t, kib in samples[::10]]
        print("RSS every 10 s: " + " ".join(every))
        if growth >= limit_kib:
            failures.append(f"memory grew by {mib(growth):.1f} MiB from the warm window to the end "
                            f"(limit {mib(limit_kib):.1f} MiB)")
    else:
        failures.append(f"too few RSS samples ({len(samples)}) to compare the windows")

    # Requirements.
    if not alive:
        failures.append("the server exited during the soak")
    if classes["5xx"]:
        sample = [u for u in unexpected if u.startswith("5")][:3]
        failures.append(f"{classes['5xx']} answers were 5xx, e.g. {sample}")
    if classes["4xx other"]:
        sample = [u for u in unexpected if not u.startswith("5")][:3]
        failures.append(f"{classes['4xx other']} answers were 4xx other than 429, e.g. {sample}")
    if errors:
        failures.append(f"{len(errors)} connection errors, e.g. {errors[:3]}")
    if not classes["429"]:
        failures.append("no 429: the load never exceeded the rate limit")
    if not classes["2xx"]:
        failures.append("no 2xx at all")
    for client, quota in zip(clients, allowed):
        # The quota, checked both ways: never more than it allows (a few requests of slack for
        # the refill during the last request), and not much less than it allows when the client
        # asked for more (a limiter that counts clients together would starve them).
        if client.counted_2xx > quota * 1.02 + 5:
            failures.append(f"client {client.address} got {client.counted_2xx} counted 2xx, more than its quota of about {quota:.0f}")
        asked = client.counted
        if client.counted_2xx < 0.8 * min(quota, asked):
            failures.append(f"client {client.address} got only {client.counted_2xx} counted 2xx of {asked} sent, its quota allows about {quota:.0f}")
    if counted < 0.9 * wanted:
        # Not a failure of the server's contract, but the load was lighter than asked: say so.
        print(f"note: the clients sent {counted} counted requests, {counted / wanted:.0%} of the {wanted:.0f} scheduled "
              f"(the server answered slower than the schedule, or not at all)")
    print()
    print("result: " + ("PASS" if not failures else f"FAIL ({len(failures)} requirement(s) broken)"))
    return failures


if __name__ == "__main__":
    main()
