# shellcheck shell=dash
# Scenario "anchors": the same Xen test-xenstore run (all tests once, then -i N timed) against
# each xenstore daemon in turn, one at a time on /var/run/xenstored/socket, in one boot:
#   xenstored   the stock C daemon, started as in production (it also serves dom0's kernel ring)
#   oxenstored  the stock OCaml daemon (it takes the dom0 ring over from the daemon before it)
#   xsd         ours (build/bin/xsd; missing from the image: a failure)
# Each daemon is measured over its unix socket (<daemon>.*) and through the kernel's
# /dev/xen/xenbus, i.e. dom0's shared ring and event channel (<daemon>-ring.*); a daemon that
# does not serve the ring (no /dev/xen/evtchn open) fails that step. XENLAB_SAMPLES rounds
# (default 3), each starting every daemon afresh, in alternating order (xenstored oxenstored
# xsd, then xsd oxenstored xenstored, ...) so that neither the boot's age nor a neighbour's
# leftovers favour one daemon. Results: per sample <series>.s<k>.{sum_avg_ns,wall_s} (and the
# per-test averages in results.txt); per series the median per-test averages (the summary's
# table) and <series>.{sum_avg_ns,wall_s}.{min,median,max}; per-round ratios against the C
# daemon on the same transport, anchors.<series>_vs_xenstored[-ring].{sum_avg,wall}.{min,median,max}
# (below 1 = faster than the stock C xenstored). Compare ratios within one run, not absolute
# emulated times. Sourced by dom0/init after lab.sh.
#
# The steps it must report OK (lib/summary.awk; dom0-setup comes from dom0/init):
#@steps xsd-help {xenstored,oxenstored,xsd}-start
#@steps {xenstored,oxenstored,xsd}-test-xenstore {xenstored,oxenstored,xsd}-test-xenstore-timed
#@steps {xenstored,oxenstored,xsd}-ring-test-xenstore {xenstored,oxenstored,xsd}-ring-test-xenstore-timed
#@steps anchors-samples

iterations=$XENLAB_ITERATIONS
samples=${XENLAB_SAMPLES:-3}
all_results=$LAB_LOGS/anchors.samples

# daemon_command NAME: how the daemon starts, on the standard socket.
daemon_command() {
  case $1 in
    xenstored) echo xenstored -N ;;
    oxenstored) echo oxenstored --no-fork ;;
    xsd) echo xsd --no-fork --socket "$LAB_XENSTORED_SOCKET" ;;
  esac
}

# measure LABEL SAMPLE: test-xenstore against the current XENSTORED_PATH; the sample's results
# (LABEL.sSAMPLE.*) are kept in $all_results for the aggregates.
measure() {
  lab_test_xenstore "$1" "$iterations" "$1.s$2" || return 1
  cat "$LAB_LOGS/$1.results" >> "$all_results"
  echo "XENLAB-RESULT $1.s$2.wall_s=$LAB_WALL_S" >> "$all_results"
}

# anchor NAME SAMPLE: starts one daemon, measures it over its socket and dom0's ring, stops it.
anchor() {
  local name=$1 sample=$2
  # shellcheck disable=SC2046
  lab_start_daemon "$name" "$LAB_XENSTORED_SOCKET" $(daemon_command "$name") || return 1
  measure "$name" "$sample"
  if [ "$(lab_daemon_transport "$LAB_PID")" = socket+ring ]; then
    export XENSTORED_PATH=/dev/xen/xenbus
    measure "$name-ring" "$sample"
    unset XENSTORED_PATH
  else
    lab_step "$name-ring-test-xenstore" FAIL "$name does not serve dom0's ring (no /dev/xen/evtchn open)"
  fi
  lab_stop_daemon "$LAB_PID"
}

# aggregate: per series the median of each per-test average, min/median/max of the sum and of
# the wall time, and min/median/max of the per-round ratios against xenstored on the same
# transport, as XENLAB-RESULT lines.
aggregate() {
  awk -F'[ =]' '
    function stats(key, list,   v, n, i, j, t) {
      n = split(list, v, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      median = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      if (key != "") printf "XENLAB-RESULT %s.min=%s\nXENLAB-RESULT %s.median=%s\nXENLAB-RESULT %s.max=%s\n", key, v[1], key, median, key, v[n]
      return median
    }
    $1 == "XENLAB-RESULT" {
      split($2, k, "."); series = k[1]; round = substr(k[2], 2); metric = k[3]
      value[series, round, metric] = $3
      list[series, metric] = list[series, metric] " " $3
      if (!(series in known)) { known[series] = 1; order[++nseries] = series }
      if (!((series, metric) in mknown)) { mknown[series, metric] = 1; metrics[series] = metrics[series] " " metric }
      if (round > rounds) rounds = round
    }
    END {
      for (s = 1; s <= nseries; s++) {
        series = order[s]; nm = split(metrics[series], m, " ")
        for (i = 1; i <= nm; i++) {
          if (m[i] == "sum_avg_ns" || m[i] == "wall_s") stats(series "." m[i], list[series, m[i]])
          if (m[i] != "wall_s") printf "XENLAB-RESULT %s.%s=%s\n", series, m[i], stats("", list[series, m[i]])
        }
        base = (series ~ /-ring$/) ? "xenstored-ring" : "xenstored"
        if (series == base) continue
        sums = walls = ""
        for (r = 1; r <= rounds; r++) {
          if ((series, r, "sum_avg_ns") in value && (base, r, "sum_avg_ns") in value && value[base, r, "sum_avg_ns"] > 0)
            sums = sums " " sprintf("%.2f", value[series, r, "sum_avg_ns"] / value[base, r, "sum_avg_ns"])
          if ((series, r, "wall_s") in value && (base, r, "wall_s") in value && value[base, r, "wall_s"] > 0)
            walls = walls " " sprintf("%.2f", value[series, r, "wall_s"] / value[base, r, "wall_s"])
        }
        if (sums != "") stats("anchors." series "_vs_" base ".sum_avg", sums)
        if (walls != "") stats("anchors." series "_vs_" base ".wall", walls)
      }
    }' "$all_results"
}

lab_result anchors.iterations "$iterations"
lab_result anchors.samples "$samples"
: > "$all_results"
[ -x /xenlab/bin/xsd ] || lab_abort xsd-start "build/bin/xsd was not built (XENLAB_BIN_DIR)"
lab_run xsd-help 10 xsd --help
round=1
while [ $round -le "$samples" ]; do
  if [ $((round % 2)) -eq 1 ]; then order="xenstored oxenstored xsd"; else order="xsd oxenstored xenstored"; fi
  for d in $order; do anchor "$d" "$round"; done
  round=$((round + 1))
done
aggregate
n=$(grep -c '\.sum_avg_ns=' "$all_results")
if [ "$n" -eq $((samples * 6)) ]; then lab_step anchors-samples OK "$samples rounds x 3 daemons x 2 transports"
else lab_step anchors-samples FAIL "$n of $((samples * 6)) measurements"; fi
