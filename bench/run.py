#!/usr/bin/env python3
"""The envcredit benchmark (docs/performance.md), in one run on one machine:

1. builds `envcredit` and the hello-world ceiling (`bench/hello.rs`) in one profile;
2. makes a pipeline key and a synthetic signed data set (`envcredit demo --institutions N`:
   N institutions graded in 2023-2026, and a serious-dishonesty list), and times
   `envcredit import` of it (verification and storing);
3. starts `envcredit serve` on it (rate limits raised for the run), and times start-up: the
   re-verification of the whole store (from its log) and the moment it answers;
4. loads the hello-world and envcredit with wrk, the same settings for both, and prints requests/s,
   p50 and p99 latency and the ratio to the hello-world for: institution JSON, institution page,
   name search, batch flags of 1,000 codes (at one connection and at full load), flags CSV; then
   the same reads with the response cache off, to show what the cache saves;
5. reports the server's peak RSS.

It is not a test: it prints what it measures and fails only when something does not work (a
server that does not start, a non-2xx answer, a wrk error). `--smoke` runs a tiny version, in the
debug profile, as CI does.

Needs: cargo, wrk (Debian's `wrk`), Linux (/proc for RSS).
"""

import argparse
import csv
import io
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROTATE = ROOT / "bench" / "rotate.lua"
# "Today" for the run, fixed so that every run answers the same questions.
TODAY = "2026-11-28"
BATCH = 1000
# The brand words of the synthetic names (src/demo.rs): name searches ask for these.
BRANDS = [
    "绿源", "清源", "华测", "中环", "蓝天", "碧水", "科达", "正信", "恒信", "天诚", "禾城", "瑞达",
    "精诚", "安诚", "宏达", "青禾", "绿洲", "澄江", "秀水", "鸿鹄", "凯越", "永清", "明德", "致远",
    "信达", "求实", "泰和", "锦程", "星河", "新禾",
]


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def wait_until_answering(url, process, timeout=120):
    """Seconds from now until `url` answers 200; fails if the process exits first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering {url}")
        try:
            get(url, timeout=1)
            return time.monotonic() - started
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Wrk:
    def __init__(self, threads, duration, warmup, work):
        self.threads = threads
        self.duration = duration
        self.warmup = warmup
        self.work = work

    def run(self, base, requests, connections, label, accept_encoding="gzip"):
        """Loads `base` with the requests in turn: a warm-up, then the measured run. Requests
        say `Accept-Encoding: gzip` as browsers and most HTTP clients do, unless told otherwise."""
        name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        request_file = self.work / f"{name}.requests"
        request_file.write_text("".join(r + "\n" for r in requests), encoding="utf-8")
        if self.warmup > 0:
            self._wrk(base, request_file, connections, self.warmup, label + " (warm-up)",
                      accept_encoding)
        result = self._wrk(base, request_file, connections, self.duration, label, accept_encoding)
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        return result

    def _wrk(self, base, request_file, connections, duration, label, accept_encoding):
        command = [
            "wrk",
            f"-t{min(self.threads, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout", "10s",
            "-s", str(ROTATE),
            base,
            "--",
            str(request_file),
            accept_encoding,
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"wrk failed for {label}: {done.stderr.strip() or done.stdout.strip()}")
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        if not lines:
            raise SystemExit(f"wrk printed no result for {label}:\n{done.stdout}\n{done.stderr}")
        result = json.loads(lines[-1])
        errors = {k: v for k, v in result.items() if k.endswith("errors") or k == "timeouts"}
        if any(errors.values()) or result["requests"] == 0:
            raise SystemExit(f"{label}: wrk saw errors {errors} in {result['requests']} requests")
        return result


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    def version(command):
        try:
            out = subprocess.run(command, capture_output=True, text=True)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            return "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "rustc": version(["rustc", "--version"]),
        "wrk": version(["wrk", "--version"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--institutions", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each")
    parser.add_argument("--profile", choices=["release", "debug"], default="release")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run in the debug profile: it must work, not be fast (CI)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if args.smoke:
        args.institutions, args.duration, args.warmup, args.profile = 300, 1, 0, "debug"
        args.connections = min(args.connections, 8)

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    if not args.no_build:
        command = ["cargo", "build", "--quiet", "--bin", "envcredit", "--example", "hello"]
        if args.profile == "release":
            command.insert(2, "--release")
        log("== " + " ".join(command))
        subprocess.run(command, check=True, cwd=ROOT)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / args.profile
    envcredit = target / "envcredit"
    hello = target / "examples" / "hello"

    with tempfile.TemporaryDirectory(prefix="envcredit-bench-") as tmp:
        work = Path(tmp)
        results = run(args, envcredit, hello, work)
    results["machine"] = machine()
    results["settings"] = {
        "institutions": args.institutions,
        "connections": args.connections,
        "wrk_threads": args.threads,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "profile": args.profile,
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def run(args, envcredit, hello, work):
    results = {}
    key = work / "pipeline.key"
    subprocess.run([str(envcredit), "keygen", str(key)], check=True, capture_output=True)
    public_key = (work / "pipeline.pub").read_text().strip()

    log(f"== generating {args.institutions} institutions x 4 years and a dishonesty list")
    bundles_dir = work / "bundles"
    started = time.monotonic()
    subprocess.run(
        [str(envcredit), "demo", "--institutions", str(args.institutions), "--key", str(key),
         "--out-dir", str(bundles_dir)],
        check=True, capture_output=True,
    )
    results["generate_s"] = time.monotonic() - started
    bundles = sorted(bundles_dir.glob("*.bundle.json"))
    results["bundle_bytes"] = sum(b.stat().st_size for b in bundles)

    config = work / "envcredit.toml"
    config.write_text(
        f"""demo = false
database_url = "{work / 'envcredit.sqlite3'}"
today = "{TODAY}"

[[trusted_keys]]
name = "bench"
public_key = "{public_key}"

# Raised for the run: the benchmark measures serving, not the limiter's refusals (the limiter
# itself still runs on every request).
[rate_limit]
enabled = true
per_minute = 1000000000
burst = 100000000
""",
        encoding="utf-8",
    )

    log(f"== importing {len(bundles)} bundles")
    started = time.monotonic()
    done = subprocess.run(
        [str(envcredit), "--config", str(config), "import", *map(str, bundles)],
        capture_output=True, text=True,
    )
    results["import_s"] = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stdout}\n{done.stderr}")
    counts = re.findall(r"imported \d+ bundles?, (\d+) records", done.stdout)
    results["records"] = int(counts[-1]) if counts else None
    log(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "imported")

    hello_port = free_port()
    hello_process = subprocess.Popen([str(hello), f"127.0.0.1:{hello_port}"],
                                     stdout=subprocess.DEVNULL)
    servers = [hello_process]
    try:
        hello_base = f"http://127.0.0.1:{hello_port}"
        wait_until_answering(hello_base + "/", hello_process)
        bench = Wrk(args.threads, args.duration, args.warmup, work)
        log("== hello-world")
        results["hello"] = bench.run(hello_base, ["GET\t/"], args.connections, "hello-world")

        server, base, server_log = start_server(envcredit, config, work, "cached", results)
        servers.append(server)
        requests = plan(base, args.institutions)
        results["cached"] = load(bench, base, requests, args.connections)
        results["peak_rss_mib"] = peak_rss_mib(server.pid)
        stop(server)

        server, base, _ = start_server(envcredit, config, work, "uncached", None,
                                       {"ENVCREDIT_CACHE__MAX_BYTES": "0"})
        servers.append(server)
        results["uncached"] = load(bench, base, requests, args.connections, reads_only=True)
        results["peak_rss_uncached_mib"] = peak_rss_mib(server.pid)
    finally:
        for process in servers:
            stop(process)
    return results


def start_server(envcredit, config, work, name, results, extra_env=None):
    port = free_port()
    server_log = work / f"serve-{name}.log"
    env = dict(os.environ, RUST_LOG="info", ENVCREDIT_LOG_FORMAT="json", **(extra_env or {}))
    log(f"== envcredit serve ({name})")
    with open(server_log, "w") as out:
        server = subprocess.Popen(
            [str(envcredit), "--config", str(config), "--listen", f"127.0.0.1:{port}", "serve"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    base = f"http://127.0.0.1:{port}"
    ready = wait_until_answering(base + "/healthz", server)
    if results is not None:
        results["ready_s"] = ready
        results["reverify_s"] = reverification_seconds(server_log)
    return server, base, server_log


def reverification_seconds(server_log):
    """The start-up re-verification time the server logged (reading the store and re-verifying
    every bundle and record into the read model)."""
    for line in server_log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields = entry.get("fields", {})
        if "read model loaded" in fields.get("message", "") and "elapsed_ms" in fields:
            return fields["elapsed_ms"] / 1000
    raise SystemExit(f"the server did not log its re-verification time ({server_log})")


def plan(base, institutions):
    """The requests of each scenario, from the served data (codes from the flags CSV)."""
    rows = list(csv.DictReader(io.StringIO(get(base + "/api/v1/flags.csv").decode("utf-8"))))
    codes = [row["code"] for row in rows]
    if len(codes) < institutions * 0.9:
        raise SystemExit(f"the flags CSV lists {len(codes)} institutions, expected about {institutions}")
    rng = random.Random(1)
    rng.shuffle(codes)
    queries = [urllib.parse.quote(brand) for brand in BRANDS]
    # Narrower searches too: a brand and a number (one to a few dozen institutions each).
    queries += [urllib.parse.quote(f"{rng.choice(BRANDS)}{n}") for n in rng.sample(range(1, 99), 60)]
    batches = []
    for _ in range(10):
        sample = rng.sample(codes, min(BATCH, len(codes)))
        body = json.dumps({"as_of": TODAY, "codes": sample}, separators=(",", ":"))
        batches.append(f"POST\t/api/v1/flags/batch\t{body}")
    return {
        "institution JSON": [f"GET\t/api/v1/institutions/{c}" for c in codes],
        "institution page": [f"GET\t/institutions/{c}" for c in codes],
        "name search": [f"GET\t/api/v1/institutions?q={q}" for q in queries],
        "batch flags": batches,
        "flags CSV": ["GET\t/api/v1/flags.csv"],
        "batch size": len(json.loads(batches[0].split("\t")[2])["codes"]),
    }


def load(bench, base, requests, connections, reads_only=False):
    out = {}
    names = ["institution JSON", "institution page", "name search"]
    if not reads_only:
        names += ["flags CSV"]
    for name in names:
        log(f"== {name} ({connections} connections)")
        out[name] = bench.run(base, requests[name], connections, name)
    if not reads_only:
        log(f"== institution JSON, client without gzip ({connections} connections)")
        out["institution JSON, identity"] = bench.run(
            base, requests["institution JSON"], connections, "json-identity", accept_encoding="identity")
        log("== batch flags (1 connection)")
        out["batch flags, 1 connection"] = bench.run(base, requests["batch flags"], 1, "batch-1")
        log(f"== batch flags ({connections} connections)")
        out["batch flags"] = bench.run(base, requests["batch flags"], connections, "batch-n")
        out["batch flags"]["codes_per_s"] = out["batch flags"]["rps"] * requests["batch size"]
        out["batch flags, 1 connection"]["codes_per_s"] = (
            out["batch flags, 1 connection"]["rps"] * requests["batch size"])
    return out


TARGETS = {
    "institution JSON": 0.7,
    "institution page": 0.5,
    "name search": 0.3,
}


def verdict(met, judged):
    if not judged:
        return "(not judged: smoke or small run)"
    return "met" if met else "NOT MET"


def report(results):
    settings = results["settings"]
    hello = results["hello"]
    # The targets are for the full run of a release build; a smoke run only shows it works.
    judged = settings["profile"] == "release" and settings["institutions"] >= 10_000
    c = settings["connections"]
    lines = [
        f"envcredit benchmark: {settings['institutions']} institutions x 4 years "
        f"({results.get('records')} records, {results['bundle_bytes'] / 1e6:.1f} MB of bundles), "
        f"{settings['profile']} build, wrk -t{settings['wrk_threads']}, "
        f"{settings['duration_s']} s runs after {settings['warmup_s']} s warm-up",
        "machine: {cpu}, {cores} cores, {memory}, Linux {kernel}, {rustc}, {wrk}".format(
            **results["machine"]),
        "",
        "| what | connections | requests/s | p50 | p99 | ratio to hello-world | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]

    def row(label, r, conns, target=""):
        ratio = r["rps"] / hello["rps"]
        lines.append(
            f"| {label} | {conns} | {r['rps']:,.0f} | {r['p50_us'] / 1000:.2f} ms | "
            f"{r['p99_us'] / 1000:.2f} ms | {ratio:.2f} | {target} |")

    row("hello-world (the ceiling)", hello, c)
    cached = results["cached"]
    for name in ["institution JSON", "institution page", "name search"]:
        goal = TARGETS[name]
        met = cached[name]["rps"] / hello["rps"] >= goal
        row(name, cached[name], c, f"≥ {goal} × {verdict(met, judged)}")
    one = cached["batch flags, 1 connection"]
    met = one["p50_us"] <= 10_000
    row("batch flags, 1,000 codes", one, 1, f"p50 ≤ 10 ms {verdict(met, judged)}")
    many = cached["batch flags"]
    row(f"batch flags, 1,000 codes ({many['codes_per_s']:,.0f} codes/s)", many, c)
    row("institution JSON, client without gzip", cached["institution JSON, identity"], c)
    row("flags CSV (whole registry)", cached["flags CSV"], c)
    for name in ["institution JSON", "institution page", "name search"]:
        row(f"{name}, response cache off", results["uncached"][name], c)
    lines.append("")

    def check(value, limit, unit):
        return f"{value:.2f} {unit} (target ≤ {limit} {unit}: {verdict(value <= limit, judged)})"

    lines.append(f"- import + full verification of {results.get('records')} records: "
                 + check(results["import_s"], 3, "s"))
    lines.append("- start-up re-verification (read the store, re-verify every bundle and record): "
                 + check(results["reverify_s"], 2, "s")
                 + f"; answering after {results['ready_s']:.2f} s")
    lines.append("- peak RSS of the server (whole cached run): "
                 + check(results["peak_rss_mib"], 200, "MiB")
                 + f"; with the cache off {results['peak_rss_uncached_mib']:.0f} MiB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
