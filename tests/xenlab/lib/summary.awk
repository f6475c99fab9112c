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
  steps[++nsteps] = sprintf("  %-32s %-5s %s", name, status, substr(detail, 1, 90))
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
    printf "  %-40s %s\n", k, v
    if (results != "") print values[i] > results
  }
  printf "steps: %d ok, %d failed, %d skipped\n", count["OK"], count["FAIL"], count["SKIP"]
  if (!begun) verdict = "incomplete"
  else if (count["FAIL"]) verdict = "fail"
  else if (!ended) verdict = "incomplete"
  else if (scenario_skipped) verdict = "skip"
  else if (!count["OK"]) verdict = "incomplete"
  else verdict = "pass"
  print "verdict " verdict
}
