# The lab's verdict: reads a scenario file (its declared steps) and a console log (its markers)
# and prints the summary table and, last, "verdict <word>":
#   awk -v qemu_rc=N -v results=FILE -f summary.awk scenarios/NAME.sh console.log
# Declared steps are the words of the scenario's "#@steps" comment lines; `{a,b}-x` stands for
# a-x and b-x. dom0/init's dom0-setup is declared for every scenario. Console markers (found
# anywhere in a line, since console output interleaves):
#   XENLAB-BEGIN ...; XENLAB-STEP <name> OK|FAIL|SKIP <detail>; XENLAB-RESULT <key>=<value>;
#   XENLAB-END scenario=<name> rc=<n> ...
# The verdict is pass only when QEMU exited 0, the scenario ended by itself (XENLAB-END rc=0)
# and every declared step reported OK, none failed and none undeclared was reported; each reason
# against it is printed as a "problem:" line. Words: timeout (QEMU killed at its limit),
# incomplete (no XENLAB-BEGIN, or no XENLAB-END: a truncated console), fail, skip (the step
# "scenario SKIP": the scenario cannot run here), pass. Writes the results as key=value lines
# to the file in variable `results`.
FILENAME == ARGV[1] {
  if ($1 == "#@steps") for (i = 2; i <= NF; i++) declare($i)
  next
}
{ sub(/\r$/, "") }
/XENLAB-BEGIN / { begun = 1 }
/^  \[[^]]+\] / { remember_output() }
/XENLAB-STEP / {
  line = substr($0, index($0, "XENLAB-STEP ") + 12)
  name = line; sub(/ .*/, "", name)
  rest = substr(line, length(name) + 2)
  status = rest; sub(/ .*/, "", status)
  detail = substr(rest, length(status) + 2)
  if (status != "OK" && status != "FAIL" && status != "SKIP") { detail = rest; status = "FAIL" }
  steps[++nsteps] = sprintf("  %-36s %-5s %s", name, status, substr(detail, 1, 90))
  count[status]++
  # A step reported more than once keeps its worst status (FAIL, then SKIP, then OK).
  if (!(name in seen) || rank[status] > rank[seen[name]]) seen[name] = status
  if (!(name in order)) order[name] = ++nnames
  if (name == "scenario" && status == "SKIP") scenario_skipped = 1
}
/XENLAB-RESULT / {
  kv = substr($0, index($0, "XENLAB-RESULT ") + 14)
  sub(/ .*/, "", kv)
  values[++nvalues] = kv
}
/XENLAB-END / {
  ended = 1
  end_rc = $0; sub(/.*XENLAB-END /, "", end_rc)
  if (match(end_rc, /(^| )rc=[0-9]+/)) end_rc = substr(end_rc, RSTART, RLENGTH); else end_rc = "rc=?"
  sub(/.*rc=/, "", end_rc)
}
BEGIN {
  rank["OK"] = 0; rank["SKIP"] = 1; rank["FAIL"] = 2
  declare("dom0-setup")
  if (qemu_rc == "") qemu_rc = 0
}
END {
  print "steps:"
  for (i = 1; i <= nsteps; i++) print steps[i]
  if (nvalues) print "results:"
  for (i = 1; i <= nvalues; i++) {
    k = values[i]; v = k; sub(/=.*/, "", k); sub(/^[^=]*=/, "", v)
    if (results != "") print values[i] > results
    if (k ~ /^[^.]+\.[A-Za-z0-9_]+_avg_ns$/) { matrix(k, v); continue }
    if (k ~ /\.s[0-9]+\.[A-Za-z0-9_]+_avg_ns$/ && k !~ /\.sum_avg_ns$/) continue  # per-sample detail: results file only
    printf "  %-50s %s\n", k, v
  }
  print_matrix()
  print_failed_output()
  printf "steps: %d ok, %d failed, %d skipped; %d declared\n", count["OK"], count["FAIL"], count["SKIP"], ndeclared
  check_run()
  for (i = 1; i <= nproblems; i++) print "problem: " problems[i]
  print "verdict " verdict
}

# remember_output: keeps a step's output line ("  [STEP] text" or "  [STEP WHAT] text",
# dom0/lab.sh's lab_show and lab_show_daemons, a scenario's own), the last 150 per step.
function remember_output(   tag, step) {
  tag = substr($0, 4, index($0, "]") - 4)
  step = tag; sub(/ .*/, "", step)
  shown[step, ++nshown[step] % 150] = $0
}

# print_failed_output: the remembered output of each failed step, oldest line first.
function print_failed_output(   name, i, first) {
  for (name in seen) {
    if (seen[name] != "FAIL" || !nshown[name]) continue
    print "output of " name ":"
    first = nshown[name] > 150 ? nshown[name] - 149 : 1
    for (i = first; i <= nshown[name]; i++) print shown[name, i % 150]
  }
}

# check_run: the verdict and every reason against a pass.
function check_run(   i, name, missing, skipped, extra) {
  if (qemu_rc == 124 || qemu_rc == 137) problem("timeout", "QEMU was killed at the run's time limit (exit " qemu_rc ")")
  else if (qemu_rc != 0) problem("fail", "QEMU exited " qemu_rc)
  if (!begun) problem("incomplete", "no XENLAB-BEGIN: dom0 never started the scenario")
  if (count["FAIL"]) problem("fail", count["FAIL"] " step(s) failed")
  if (!ended) problem("incomplete", "no XENLAB-END: the console ends before the scenario did (truncated, or the run was killed)")
  else if (end_rc == 124 || end_rc == 143) problem("fail", "the scenario was killed by its time limit (XENLAB-END rc=" end_rc ")")
  else if (end_rc != 0) problem("fail", "the scenario exited rc=" end_rc)
  if (scenario_skipped) { skip_reason(); return }
  if (ndeclared <= 1) problem("fail", "the scenario declares no steps (#@steps lines)")
  for (i = 1; i <= ndeclared; i++) {
    name = declared[i]
    if (!(name in seen)) missing = missing " " name
    else if (seen[name] == "SKIP") skipped = skipped " " name
  }
  for (name in order) if (!(name in is_declared)) extra = extra " " name
  if (missing != "") problem("fail", "declared steps never reported:" missing)
  if (skipped != "") problem("fail", "declared steps skipped:" skipped)
  if (extra != "") problem("fail", "steps reported but not declared in #@steps:" extra)
  if (verdict == "") verdict = "pass"
}

# skip_reason: "scenario SKIP" makes the verdict skip unless something worse was found.
function skip_reason() { if (verdict == "") verdict = "skip" }

# problem WORD TEXT: records a reason; the first one's word is the verdict, except that a
# timeout or an incomplete console outranks a failed step (they explain it).
function problem(word, text) {
  problems[++nproblems] = text
  if (verdict == "" || (word == "timeout") || (word == "incomplete" && verdict == "fail")) verdict = word
}

# declare WORD: adds the steps WORD stands for (one {a,b,...} group expands, recursively).
function declare(word,   open, shut, head, tail, n, alt, i) {
  open = index(word, "{")
  if (open) {
    shut = index(substr(word, open), "}")
    if (shut) {
      head = substr(word, 1, open - 1)
      tail = substr(word, open + shut)
      n = split(substr(word, open + 1, shut - 2), alt, ",")
      for (i = 1; i <= n; i++) declare(head alt[i] tail)
      return
    }
  }
  if (word in is_declared) return
  is_declared[word] = 1
  declared[++ndeclared] = word
}

# test-xenstore averages (<daemon>.<test>_avg_ns) as one table: a row per test, a column per daemon.
function matrix(key, value,   d, t) {
  d = key; sub(/\..*/, "", d); t = key; sub(/^[^.]*\./, "", t); sub(/_avg_ns$/, "", t)
  if (!(d in dcol)) { dcol[d] = ++ndaemons; daemons[ndaemons] = d }
  if (!(t in trow)) { trow[t] = ++ntests; tests[ntests] = t }
  cell[t, d] = value
}
function print_matrix(   i, j) {
  if (!ntests) return
  printf "test-xenstore -i N, average ns per operation:\n  %-14s", "test"
  for (j = 1; j <= ndaemons; j++) printf " %15s", daemons[j]
  printf "\n"
  for (i = 1; i <= ntests; i++) {
    printf "  %-14s", tests[i]
    for (j = 1; j <= ndaemons; j++) printf " %15s", ((tests[i], daemons[j]) in cell) ? cell[tests[i], daemons[j]] : "-"
    printf "\n"
  }
}
