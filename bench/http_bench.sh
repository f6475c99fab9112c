#!/usr/bin/env bash
# txend's HTTP API under load vs. nginx serving the same bytes (issue 4).
#
# Starts xsd (persistent store) and txend on the simulated hypervisor in a temp
# dir with TCP on loopback (plain HTTP, the explicit --tcp-insecure opt-out, to
# compare like with like: nginx serves plain HTTP), creates domain `demo` (2 disks, 1 vif) with xm, then
# drives `GET /xend/domain/demo?detail=1` with wrk; nginx serves the reply's
# exact bytes as a static file on loopback in the same run, driven the same way.
# Prints a markdown table: requests/s, p99 latency, ratio to nginx, and xenstore
# transactions and xsd disk bytes per request (from xsd's own counters), and
# txend's context switches per request (/proc/<pid>/task/*/status), and xsd + txend CPU per
# request over TCP and over txend's unix socket (/proc/<pid>/task/*/schedstat). Last, both
# servers on a unix socket with a connection per request, as libvirt's xend driver reads
# (build/bin/libvirt_reads): CPU per request of xsd + txend and of nginx's worker, in
# interleaved batches.
#
#   bench/http_bench.sh [--seconds N] [--connections C] [--threads T] [--libvirt-reads N] [--bin DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=10 connections=16 threads=2 libvirt_reads=2000 bin="$top/build/bin"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --libvirt-reads) libvirt_reads=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections C] [--threads T] [--libvirt-reads N] [--bin DIR]" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "http_bench: $tool is not installed (apt-get install wrk nginx-light)" >&2; exit 77; }
done
xsc=/usr/lib/xen-4.17/bin/xenstore-control

dir=$(mktemp -d /tmp/txend-http-bench.XXXXXX)
cleanup() {
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  [ -f "$dir/txend.pid" ] && kill "$(cat "$dir/txend.pid")" 2>/dev/null || true
  [ -f "$dir/state/xsd.pid" ] && kill "$(cat "$dir/state/xsd.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
txend_port=$(free_port)
nginx_port=$(free_port)

# A minimal x86-64 ELF header is all the simulated hypervisor asks of a kernel.
python3 -c "
h = bytearray(64); h[0:4] = b'\x7fELF'; h[4] = 2; h[5] = 1; h[6] = 1; h[18] = 62
open('$dir/vmlinuz', 'wb').write(bytes(h))"

"$bin/txend" --hypervisor sim --unix-socket "$dir/xend-socket" --tcp "127.0.0.1:$txend_port" --tcp-insecure \
  --xenstored "$dir/xs.sock" --domain-sockets "$dir/domains" --state-dir "$dir/state" \
  --log-file "$dir/txend.log" --pid-file "$dir/txend.pid"
cat > "$dir/demo.cfg" <<CFG
name = 'demo'
kernel = '$dir/vmlinuz'
memory = 64
disk = [ 'phy:/dev/vg0/demo,xvda,w', 'file:/srv/demo.img,xvdb,w' ]
vif = [ 'bridge=xenbr0' ]
CFG
TXEND_SOCKET="$dir/xend-socket" "$bin/xm" create -q "$dir/demo.cfg" >/dev/null
sleep 1  # let the guest's frontends connect, so the reply is the steady-state one

url="http://127.0.0.1:$txend_port/xend/domain/demo?detail=1"
mkdir -p "$dir/www"
chmod 755 "$dir" "$dir/www"  # nginx workers run unprivileged
curl -sf -H "Accept: application/sxp" "$url" > "$dir/www/demo.sxp"
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/sxp;
  client_body_temp_path $dir/nginx-tmp;
  proxy_temp_path $dir/nginx-tmp;
  fastcgi_temp_path $dir/nginx-tmp;
  uwsgi_temp_path $dir/nginx-tmp;
  scgi_temp_path $dir/nginx-tmp;
  server { listen 127.0.0.1:$nginx_port; listen unix:$dir/nginx.sock; root $dir/www; }
}
CONF
chmod 644 "$dir/www/demo.sxp"
nginx -c "$dir/nginx.conf"

stat() { XENSTORED_PATH="$dir/xs.sock" "$xsc" stats | awk -v k="$1" '$1 == k { print $2 }'; }
# wrk's summary: requests/s, p99 latency in ms and the request count.
run_wrk() {
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$1" > "$dir/wrk.out"
  local rps p99 n
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.out")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }' "$dir/wrk.out")
  n=$(awk '/requests in/ { print $1 }' "$dir/wrk.out")
  if grep -q "Non-2xx" "$dir/wrk.out"; then echo "http_bench: errors during the run:" >&2; cat "$dir/wrk.out" >&2; exit 1; fi
  echo "$rps $p99 $n"
}

# txend's context switches so far, summed over its threads: "voluntary involuntary".
switches() {
  cat /proc/"$(cat "$dir/txend.pid")"/task/*/status 2>/dev/null |
    awk '$1 == "voluntary_ctxt_switches:" { v += $2 } $1 == "nonvoluntary_ctxt_switches:" { n += $2 } END { print v, n }'
}

# xsd + txend CPU so far in ns: every live thread's /proc schedstat, summed (to the nanosecond).
cpu_ns() {
  cat /proc/"$(cat "$dir/txend.pid")"/task/*/schedstat /proc/"$(cat "$dir/state/xsd.pid")"/task/*/schedstat 2>/dev/null |
    awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Counts from an exact number of requests (wrk cuts its last requests short,
# which xsd still sees), then throughput and latency from wrk.
t_n=500
tx0=$(stat transactions_started); disk0=$(stat disk_bytes_written); req0=$(stat requests_total)
read -r vol0 invol0 < <(switches)
cpu0=$(cpu_ns)
# -o applies to the first URL only, so every reply goes to /dev/null through stdout.
curl -sf -H "Accept: application/sxp" $(for _ in $(seq $t_n); do echo "$url"; done) > /dev/null
cpu1=$(cpu_ns)
read -r vol1 invol1 < <(switches)
tx1=$(stat transactions_started); disk1=$(stat disk_bytes_written); req1=$(stat requests_total)
# Then on txend's unix socket (xm's and libvirt's way), one keep-alive
# connection: the CPU per request that read_floor's keep-alive floor is for.
# In u_batches batches of u_n, each its own CPU window: the median batch is the figure.
unix_url="http://localhost/xend/domain/demo?detail=1"
u_batches=5
u_n=1000
u_per=()
for _ in $(seq $u_batches); do
  ucpu0=$(cpu_ns)
  curl -sf --unix-socket "$dir/xend-socket" -H "Accept: application/sxp" \
    $(for _ in $(seq $u_n); do echo "$unix_url"; done) > /dev/null
  ucpu1=$(cpu_ns)
  u_per+=("$(python3 -c "print(f'{($ucpu1 - $ucpu0) / $u_n / 1000:.1f}')")")
done
read -r ucpu_per ucpu_min ucpu_max < <(printf '%s\n' "${u_per[@]}" | sort -n |
  awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')
# Then libvirt's way on both servers' unix sockets: a new connection per request. The
# batches alternate between txend and nginx, so both meet the machine in the same state.
nginx_cpu_ns() {
  cat /proc/"$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)"/task/*/schedstat |
    awk '{ s += $1 } END { printf "%.0f\n", s }'
}
# libvirt_batch METER SOCKET PATH [COUNT]: CPU per request in µs, by METER, of COUNT reads.
libvirt_batch() {
  local n=${4:-$libvirt_reads} c0 c1
  c0=$($1)
  "$bin/libvirt_reads" --socket "$2" --path "$3" --count "$n"
  c1=$($1)
  python3 -c "print(f'{($c1 - $c0) / $n / 1000:.1f}')"
}
median_range() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }
txend_read=(cpu_ns "$dir/xend-socket" "/xend/domain/demo?detail=1")
nginx_read=(nginx_cpu_ns "$dir/nginx.sock" /demo.sxp)
libvirt_batch "${txend_read[@]}" 100 > /dev/null  # warm-up
libvirt_batch "${nginx_read[@]}" 100 > /dev/null
l_batches=5
l_txend=() l_nginx=() l_ratio=()
for _ in $(seq $l_batches); do
  t=$(libvirt_batch "${txend_read[@]}")
  n=$(libvirt_batch "${nginx_read[@]}")
  l_txend+=("$t") l_nginx+=("$n") l_ratio+=("$(python3 -c "print(f'{$t / $n:.2f}')")")
done
read -r lt lt_min lt_max < <(median_range "${l_txend[@]}")
read -r ln ln_min ln_max < <(median_range "${l_nginx[@]}")
read -r lr lr_min lr_max < <(median_range "${l_ratio[@]}")
read -r t_rps t_p99 _ < <(run_wrk "$url")
read -r n_rps n_p99 _ < <(run_wrk "http://127.0.0.1:$nginx_port/demo.sxp")

tx_per=$(python3 -c "print(f'{($tx1 - $tx0) / $t_n:.3f}')")
req_per=$(python3 -c "print(f'{($req1 - $req0) / $t_n:.1f}')")
disk_per=$(python3 -c "print(f'{($disk1 - $disk0) / $t_n:.1f}')")
vol_per=$(python3 -c "print(f'{($vol1 - $vol0) / $t_n:.2f}')")
invol_per=$(python3 -c "print(f'{($invol1 - $invol0) / $t_n:.2f}')")
cpu_per=$(python3 -c "print(f'{($cpu1 - $cpu0) / $t_n / 1000:.1f}')")
ratio=$(python3 -c "print(f'{$t_rps / $n_rps:.2f}')")
bytes=$(wc -c < "$dir/www/demo.sxp")
echo "| server | requests/s | p99 latency (ms) | ratio to nginx |"
echo "| --- | ---: | ---: | ---: |"
echo "| txend \`GET /xend/domain/demo?detail=1\` | $t_rps | $t_p99 | $ratio |"
echo "| nginx, the same $bytes bytes as a static file | $n_rps | $n_p99 | 1.00 |"
echo
echo "Per txend request ($t_n requests): $tx_per xenstore transactions, $req_per xenstore requests, $disk_per xsd disk bytes."
echo "txend context switches per request (the same $t_n, one keep-alive connection, all its threads): $vol_per voluntary, $invol_per involuntary."
echo "xsd + txend CPU per request (their threads' schedstat), one keep-alive connection: over TCP (the same $t_n) $cpu_per us; on txend's unix socket ($u_batches batches of $u_n more, the median batch) $ucpu_per us ($ucpu_min–$ucpu_max)."
echo "wrk -t$threads -c$connections -d${seconds}s over TCP loopback; $(nproc) cores."
echo "A new connection per request on each server's unix socket, as libvirt's xend driver reads ($l_batches batches of $libvirt_reads each, txend's and nginx's alternating; the median batch, lowest–highest): xsd + txend $lt us ($lt_min–$lt_max), nginx's worker $ln us ($ln_min–$ln_max) of CPU per request; txend / nginx $lr (each txend batch over the nginx batch after it: $lr_min–$lr_max)."
