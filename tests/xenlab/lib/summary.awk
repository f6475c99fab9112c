# Reads a lab console log and prints the summary table of its markers:
#   XENLAB-BEGIN ...; XENLAB-STEP <name> OK|FAIL|SKIP <detail>; XENLAB-RESULT <key>=<value>;
#   XENLAB-END scenario=<name> rc=<n> ...
# Markers may follow other text on a line (console interleaving). Writes the results as
# key=value lines to the file in variable `results`, and the verdict (pass, fail, skip,
# incomplete) as the last line of output: "verdict <word>". A scenario that cannot run yet
# reports the step "scenario SKIP <why>": its verdict is skip unless a step failed.
{ sub(/\r$/, "") }
/XENLAB-BEGIN / { begun = 1 }
/XENLAB-STEP / {
  line = substr($0, index($0, "XENLAB-STEP ") + 12)
  name = line; sub(/ .*/, "", name)
  rest = substr(line, length(name) + 2)
  status = rest; sub(/ .*/, "", status)
  detail = substr(rest, length(status) + 2)
  if (status != "OK" && status != "FAIL" && status != "SKIP") { detail = rest; status = "FAIL" }
  steps[++nsteps] = sprintf("  %-36s %-5s %s", name, status, substr(detail, 1, 90))
  count[status]++
  if (name == "scenario" && status == "SKIP") scenario_skipped = 1
}
/XENLAB-RESULT / {
  kv = substr($0, index($0, "XENLAB-RESULT ") + 14)
  sub(/ .*/, "", kv)
  values[++nvalues] = kv
}
/XENLAB-END / { ended = 1 }
END {
  print "steps:"
  for (i = 1; i <= nsteps; i++) print steps[i]
  if (nvalues) print "results:"
  for (i = 1; i <= nvalues; i++) {
    k = values[i]; v = k; sub(/=.*/, "", k); sub(/^[^=]*=/, "", v)
    if (results != "") print values[i] > results
    if (k ~ /^[^.]+\.[A-Za-z0-9_]+_avg_ns$/) { matrix(k, v); continue }
    printf "  %-50s %s\n", k, v
  }
  print_matrix()
  printf "steps: %d ok, %d failed, %d skipped\n", count["OK"], count["FAIL"], count["SKIP"]
  if (!begun) verdict = "incomplete"
  else if (count["FAIL"]) verdict = "fail"
  else if (!ended) verdict = "incomplete"
  else if (scenario_skipped) verdict = "skip"
  else if (!count["OK"]) verdict = "incomplete"
  else verdict = "pass"
  print "verdict " verdict
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
