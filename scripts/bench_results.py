#!/usr/bin/env python3
"""Regenerates bench/RESULTS.md: runs every benchmark once and writes its figures.

    scripts/bench_results.py [--quick] [--large] [--out bench/RESULTS.md] [--bin build/bin]

Each section is one benchmark's own output (each figure beside its floor or
peer measured in the same run), with the command, the wall time and the
1-minute load average before and after it. The targets of issue 17 are
judged from those numbers (met / MISSED / not measured); nothing in the file
is written by hand. --quick runs every benchmark with tiny settings (CI smoke:
the file's shape, not its figures); --large adds the scenario at 10 000 domains. The full run takes about 10 minutes on 2
cores; the machine is shared, so run it only when the figures are needed.
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


class Run:
    """One benchmark's run: its command, output, exit code, time and load."""

    def __init__(self, title, argv, timeout):
        self.title, self.argv = title, argv
        self.load_before = load_average()
        start = time.monotonic()
        try:
            p = subprocess.run(["nice"] + argv, capture_output=True, text=True, timeout=timeout)
            self.code, self.out, self.err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            self.code, self.out = -1, e.stdout.decode() if e.stdout else ""
            self.err = f"timed out after {timeout} s"
        except OSError as e:
            self.code, self.out, self.err = -1, "", str(e)
        self.seconds = time.monotonic() - start
        self.load_after = load_average()

    def ok(self):
        return self.code == 0

    def command(self):
        return " ".join(os.path.relpath(a, TOP) if a.startswith(TOP) else a for a in self.argv)

    def section(self, heading, method):
        head = (f"## {heading}\n\n`{self.command()}` — {self.seconds:.0f} s; 1-minute load "
                f"average {self.load_before} before, {self.load_after} after.\n\n{method}\n\n")
        if self.code == 77:
            return head + "Skipped: " + (self.err.strip().splitlines() or ["?"])[-1] + "\n"
        if not self.ok():
            tail = "\n".join(self.err.strip().splitlines()[-5:])
            return head + f"**Failed** (exit {self.code}):\n\n```\n{tail}\n```\n"
        # a benchmark's own headings sit one level below this section's
        return head + re.sub(r"^(#+) ", r"#\1 ", self.out.strip(), flags=re.M) + "\n"


# --- figures out of the benchmarks' markdown -------------------------------------------------


def table_rows(text):
    """Every markdown table row of `text`, as a list of its cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def number(cell):
    m = re.search(r"-?[0-9]+(\.[0-9]+)?", cell or "")
    return float(m.group(0)) if m else None


def cell(text, first, column_header):
    """The cell in the row whose first cell starts with `first`, under `column_header`."""
    header = None
    for row in table_rows(text):
        if column_header in row:
            header = row
        elif header and row and row[0].startswith(first) and len(row) == len(header):
            return row[header.index(column_header)]
    return None


# --- the benchmarks ------------------------------------------------------------------------


def settings(quick):
    if quick:
        return dict(xsd=["--seconds", "0.3", "--commit-domains", "10,100", "--flat-entries", "1000",
                         "--compaction-nodes", "2000"],
                    http=["--seconds", "1", "--libvirt-reads", "100"],
                    scenario=["--domains", "1,5", "--rounds", "2", "--interval", "0",
                              "--repeats", "2", "--detail-reads", "20", "--idle-monitors", "0,10",
                              "--idle-seconds", "0.5"],
                    floor=["--repeats", "3", "--batch", "100"],
                    migration=None)
    return dict(xsd=["--seconds", "6"], http=["--seconds", "10"], floor=[],
                # 500 monitors at most: txend holds 512 connections (http/http_server.h
                # max_connections) and sheds the rest by design, so 1000 never all park.
                scenario=["--domains", "1,1000", "--idle-monitors", "0,100,500"],
                migration=["--sizes", "256,1024", "--rates", "8", "--repeat", "1"])


# --large: the 10 000-domain stack (about 25 minutes more; not in the default run).
LARGE = ["--domains", "10000", "--idle-monitors", "0", "--rounds", "3"]


def domains(s):
    """The scenario's domain counts: the floor is measured at the same ones."""
    given = s["scenario"][s["scenario"].index("--domains") + 1]
    return [int(n) for n in given.split(",")]


def run_all(args):
    s = settings(args.quick)
    b = args.bin
    runs = {}
    runs["xsd"] = Run("xsd", [f"{b}/xsd_bench"] + s["xsd"], 600)
    runs["floor"] = Run("floor", [f"{b}/read_floor", "--domains", ",".join(map(str, domains(s)))]
                        + s["floor"], 300)
    runs["http"] = Run("http", [f"{TOP}/bench/http_bench.sh", "--bin", b] + s["http"], 300)
    runs["scenario"] = Run("scenario", [f"{b}/scenario_bench"] + s["scenario"] + ["--check"], 900)
    if s["migration"] and os.geteuid() == 0:
        runs["migration"] = Run("migration", [f"{b}/migration_bench"] + s["migration"], 600)
    if args.large:
        runs["large"] = Run("large", [f"{b}/scenario_bench"] + LARGE + ["--check"], 3600)
    return runs


# --- issue 17's targets, judged from the figures --------------------------------------------


def verdict(ok):
    if ok is None:
        return "not measured"
    return "met" if ok else "**MISSED**"


def cpu_per_read(runs, counts):
    """(figure, met) for "xsd + txend CPU per detail read <= 1.5x the in-process floor": the
    scenario's reads on a new connection each against read_floor's new-connection floor at
    each domain count, and http_bench's keep-alive reads on the unix socket against the
    keep-alive floor (its stack holds one domain, compared with the floor's smallest count)."""
    floor, scen, http = runs["floor"].out, runs["scenario"].out, runs["http"].out
    parts, ratios = [], []
    for n in counts:
        read = number(cell(scen, "… xsd + txend CPU per read", f"{n} domains"))
        base = number(cell(floor, "new-connection floor", f"{n} domains"))
        if read is None or not base:
            return "—", None
        ratios.append(read / base)
        parts.append(f"{n} domains {read:g} / {base:g} µs = {read / base:.1f}×")
    text = "a connection each: " + "; ".join(parts)
    ka = re.search(r"on txend's unix socket \([^)]*\) ([0-9.]+) us", http)
    ka_base = number(cell(floor, "keep-alive floor", f"{counts[0]} domains"))
    if ka and ka_base:
        ratios.append(float(ka.group(1)) / ka_base)
        text += (f"; keep-alive (unix socket, 1 domain) {float(ka.group(1)):g} / {ka_base:g} µs = "
                 f"{ratios[-1]:.1f}×")
    else:
        text += "; keep-alive not measured (http_bench skipped or failed)"
    return text, max(ratios) <= 1.5


def large_target(runs, quick):
    """(target, figure, verdict) for "10 000 domains: everything works, memory per domain
    stated", from the --large run: every create, read and command of the scenario went
    through (its exit code) and its memory rows are there."""
    title = "10 000 domains: everything works, memory per domain stated"
    run = runs.get("large")
    if run is None:
        return title, "not run" if quick else "not run (scripts/bench_results.py --large)", \
            verdict(None)
    at = "10000 domains"
    xsd_mem = cell(run.out, "xsd resident memory", at)
    txend_mem = cell(run.out, "txend resident memory", at)
    if not run.ok() or not xsd_mem or not txend_mem:
        return title, f"the run failed (exit {run.code})", verdict(False)
    figure = (f"xsd {xsd_mem}, txend {txend_mem}; `xm list` "
              f"{cell(run.out, '`xm list`: median', at)}, GET-all "
              f"{cell(run.out, '`GET /xend/domain?detail=1`: median', at)}, `xm create` "
              f"{cell(run.out, 'wall time per `xm create`', at)}")
    return title, figure, verdict(True)


def targets(runs, quick, counts):
    """(target, figure, verdict) for each target of issue 17."""
    xsd, http, scen = runs["xsd"].out, runs["http"].out, runs["scenario"].out
    at = "1000 domains"
    get_all = number(cell(scen, "`GET /xend/domain?detail=1`: median", at))
    xm_list = number(cell(scen, "`xm list`: median", at))
    polling = number(cell(scen, "CPU of xsd + txend while polling", at))
    idle = number(cell(scen, "… the same stack just before, idle", at))
    shutdown = number(cell(scen, "`xm shutdown -w`", "1 domains"))
    nginx = number(cell(http, "txend", "ratio to nginx"))
    per_connection = re.search(r"txend / nginx ([0-9.]+) \(each txend batch over the nginx batch "
                               r"after it: ([0-9.]+–[0-9.]+)\)", http)
    monitors = re.search(r"idle monitors target .*: (met|MISSED) \((.*)\)", scen)
    commit = re.search(r"commit cost target .*: (met|MISSED) \((.*)\)", xsd)
    floor = re.search(r"read/write target .*: (met|MISSED)", xsd)
    stall = re.search(r"compaction stall target .*: (met|MISSED) \((.*)\)", xsd)
    floor_cpu = re.search(r"floor / xsd: ([0-9.]+)", xsd)
    floor_rows = [row for row in table_rows(xsd) if len(row) >= 6 and row[0] in ("read", "write")]
    worst_floor = min(floor_rows, key=lambda row: number(row[4]), default=None)
    switches_1 = cell(scen, "… txend context switches per read", "1 domains")
    switches_n = cell(scen, "… txend context switches per read", at)
    if switches_1 == "n/a" or switches_n == "n/a":
        switches_1 = switches_n = None
    ka = re.search(r"txend context switches per request .*: ([0-9.]+) voluntary, ([0-9.]+) invol", http)
    keep_alive = f"{ka.group(1)} ({ka.group(2)})" if ka else None
    tx = cell(scen, "xenstore transactions per domain read", "target met")
    disk = cell(scen, "xsd disk bytes per domain read", "target met")
    create = cell(scen, "xenstore transactions per `xm create`", "target met")
    per_read = cpu_per_read(runs, counts)

    def below(v, limit):
        return None if v is None else v < limit

    def fig(v, unit):
        return "—" if v is None else f"{v:g} {unit}"

    rows = [
        ("1000 domains: GET-all < 25 ms", fig(get_all, "ms"), verdict(below(get_all, 25))),
        ("1000 domains: `xm list` < 30 ms", fig(xm_list, "ms"), verdict(below(xm_list, 30))),
        ("1000 reads/s polling (1000 domains at 1 Hz) < 10 % of one core",
         fig(polling, "%") + ("" if idle is None else f" (the stack idle just before: {idle:g} %)"),
         verdict(below(polling, 10))),
        ("txend ≥ 0.5× nginx's requests/s, keep-alive (and, reported, a connection per "
         "request as libvirt reads)",
         fig(nginx, "×") + ("; a connection per request on unix sockets: txend's CPU per "
                            f"request {per_connection.group(1)}× nginx's (batches "
                            f"{per_connection.group(2)})" if per_connection else ""),
         verdict(None if nginx is None else nginx >= 0.5)),
        ("xsd: one-node commit ≤ 2× from 1k to 1M nodes and with a 100k-entry directory",
         commit.group(2) if commit else "—", verdict(commit.group(1) == "met" if commit else None)),
        ("xsd: reads and writes ≥ 0.9× the echo floor at 1 and 8 connections",
         "; ".join(part for part in (
             f"lowest {worst_floor[4]} ({worst_floor[0]}, {worst_floor[1]} connections; its "
             f"rounds {worst_floor[5]})" if worst_floor else "",
             f"CPU floor / xsd {floor_cpu.group(1)}" if floor_cpu else "") if part) or "—",
         verdict(floor.group(1) == "met" if floor else None)),
        ("`xm shutdown -w` returns within a few ms of the event (< 100 ms, whole command)",
         fig(shutdown, "ms"), verdict(below(shutdown, 100))),
        ("N idle monitors in `GET /xend/events` cost ~nothing",
         monitors.group(2) if monitors else "—",
         verdict(monitors.group(1) == "met" if monitors else None)),
        ("1 transaction, 0 disk bytes per read; ≤ 3 transactions per create",
         f"read: {tx or '—'}, disk: {disk or '—'}, create: {create or '—'}",
         verdict(None if not (tx and disk and create) else
                 all(v == "yes" for v in (tx, disk, create)))),
        ("txend + xsd CPU per detail read ≤ 1.5× the in-process floor", per_read[0],
         verdict(per_read[1])),
        ("≤ 2 voluntary context switches per request in txend (detail read)",
         f"keep-alive {keep_alive or '—'}; a connection each, 1 / 1000 domains: "
         f"{switches_1 or '—'} / {switches_n or '—'} (involuntary in brackets)",
         verdict(None if None in (switches_1, switches_n, keep_alive) else
                 max(number(switches_1), number(switches_n), number(keep_alive)) <= 2)),
        ("xsd: compaction never stalls the loop > 1 ms (longest loop turn while a 100k-node "
         "store compacts vs. without, same run)", stall.group(2) if stall else "—",
         verdict(stall.group(1) == "met" if stall else None)),
        large_target(runs, quick),
    ]
    if quick:  # tiny settings: the figures say nothing about the targets
        rows = [(t, f, "not measured (--quick)") for t, f, _ in rows]
    return rows


# --- the file ----------------------------------------------------------------------------


METHODS = {
    "xsd": ("xsd round trips vs. an echo floor; a one-node commit's cost",
            "One client thread per connection, one request in flight; the floor is a "
            "single-threaded epoll\necho server on a unix socket driven by the same client code, "
            "interleaved with the xsd runs\n(median of 3; beside it the lowest and highest of the 3 rounds' "
            "ratios, each an xsd run over\nthe floor run just before it). The commit cost is measured in process "
            "in stores of growing size, as ratios to\nthe smallest store in the same run. The compaction "
            "stall times the loop's turns (a WRITE and its\ngroup commit) in process on tmpfs "
            "while the journal of a 100k-node store compacts, against\nthe turns of the same run "
            "with no compaction running."),
    "floor": ("The in-process floor of one detail read (read_floor)",
              "What one `GET /xend/domain/<d>?detail=1` costs xsd and txend at the least, part "
              "by part, on the real\ncode in one process, at the scenario's domain counts; the "
              "CPU-per-read target compares the\nscenario's and http_bench's measured CPU per "
              "read with these sums."),
    "http": ("txend's HTTP API vs. nginx serving the same bytes",
             "xsd (persistent) and txend on the simulated hypervisor, domain `demo` with 2 disks "
             "and 1 vif;\nwrk over TCP loopback, keep-alive; nginx serves the reply's exact bytes "
             "in the same run.\nCounts, context switches and CPU per request are from 500 "
             "requests on one keep-alive connection\n(curl) over TCP; on txend's unix socket, "
             "the CPU per request is the median of 5 batches of 1000.\nLast, a new connection "
             "per request on each server's unix socket, as libvirt's xend driver reads\n"
             "(`build/bin/libvirt_reads`), in batches alternating between txend and nginx."),
    "scenario": ("Seed scenario and idle monitors (scenario_bench)",
                 "The seed scenario's own report follows (its method, then one column per domain "
                 "count, the\nxend column and each target); then the idle-monitor table."),
    "large": ("10 000 domains (scenario_bench, --large)",
              "The seed scenario again on one stack of 10 000 domains (each with 2 vbds and 1 "
              "vif), polled for 3\nrounds: that every create, read and command works at this "
              "size, and what each domain costs in\nmemory. Each simulated guest holds its own "
              "xenstore connection in txend (as a real guest's ring\nwould in xsd) and, while "
              "the host has ptys left, a console pty. When xsd runs short of file\ndescriptors "
              "it closes the listening sockets of connected domains, so each costs it one."),
    "migration": ("Migration between two hosts (network namespaces)",
                  "Each migration beside a plain TCP copy of the same bytes between the same "
                  "namespaces, in the\nsame run."),
}


def render(args, runs, load_before, load_after, started):
    out = ["# Benchmark results\n",
           f"Generated by `scripts/bench_results.py{' --quick' if args.quick else ''}"
           f"{' --large' if args.large else ''}` on "
           f"{started:%Y-%m-%d %H:%M} UTC — {os.cpu_count()} cores, Linux "
           f"{platform.release()}, {platform.machine()}; 1-minute load average {load_before} "
           f"before the run, {load_after} after. Do not edit by hand: rerun the command.\n",
           "Figures are ratios to a floor or a peer measured in the same run where one exists; "
           "absolute\nnumbers swing with the shared machine's load (given per section).\n",
           "## Issue 17's targets\n",
           "| target | figure (this run) | verdict |", "| --- | --- | --- |"]
    for t, f, v in targets(runs, args.quick, domains(settings(args.quick))):
        out.append(f"| {t} | {f} | {v} |")
    out.append("")
    for key, run in runs.items():
        heading, method = METHODS[key]
        out.append(run.section(heading, method))
    if "migration" not in runs:
        out.append("## Migration between two hosts (network namespaces)\n\n"
                   "Not run (--quick, or not root).\n")
    return "\n".join(out)


def well_formed(text):
    """The shape a generated file must have: every section, and a verdict in every target row."""
    needed = ["# Benchmark results", "## Issue 17's targets", "## " + METHODS["xsd"][0],
              "## " + METHODS["floor"][0],
              "## " + METHODS["http"][0], "## " + METHODS["scenario"][0]]
    missing = [h for h in needed if h not in text]
    start = text.find("## Issue 17's targets")
    rows = table_rows(text[start:text.find("\n## ", start + 1)])[1:]
    bad = [r[0] for r in rows if len(r) != 3 or not re.match(r"(met|\*\*MISSED\*\*|not )", r[2])]
    return missing + bad


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny settings, for CI smoke")
    p.add_argument("--large", action="store_true",
                   help="also run the scenario at 10 000 domains (about 25 minutes more)")
    p.add_argument("--out", default=os.path.join(TOP, "bench", "RESULTS.md"))
    p.add_argument("--bin", default=os.path.join(TOP, "build", "bin"))
    args = p.parse_args()
    started = datetime.datetime.utcnow()
    load_before = load_average()
    runs = run_all(args)
    text = render(args, runs, load_before, load_average(), started)
    with open(args.out, "w") as f:
        f.write(text)
    problems = well_formed(text)
    failed = [k for k, r in runs.items() if not r.ok() and r.code != 77]
    for k in failed:
        print(f"bench_results: {k} failed (exit {runs[k].code}): {runs[k].err.strip()[-300:]}",
              file=sys.stderr)
    for what in problems:
        print(f"bench_results: malformed output: {what}", file=sys.stderr)
    if failed or problems:
        return 1
    print(f"bench_results: wrote {args.out}: well-formed, {len(runs)} benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
