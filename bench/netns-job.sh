#!/bin/sh
# Runs a job across several hosts made on this machine, for benchmarks: one network namespace
# per host with a veth link to a switch (a bridge in a namespace of its own), host h at
# 10.78.0.(h+1), each host's ranks in an IPC namespace of their own (so Weft and UCX see
# separate machines, reached over TCP only), optionally every host's link limited by a token
# bucket (tc tbf) in both directions. Needs root.
#
#   bench/netns-job.sh [--hosts H] [--ranks-per-host R] [--rate 2gbit] [--link-rate] -- CMD...
#
# CMD runs once per rank with WEFT_RANK, WEFT_NRANKS, WEFT_ROOT (host 0), WEFT_SECRET and
# UCX_NET_DEVICES set; rank r runs on host r / R. What rank 0 prints is printed, the rest goes
# to a log whose path is printed. --link-rate first measures one TCP stream from host 0 to
# host 1 (python3, 256 MiB) and prints "link: X.XX GB/s", the bound the job is held against.
set -u
hosts=2
per_host=2
rate=""
measure_link=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --ranks-per-host) per_host=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --link-rate) measure_link=1; shift ;;
    --) shift; break ;;
    *) echo "netns-job.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "netns-job.sh: no command" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "netns-job.sh: needs root (network namespaces)" >&2; exit 77; }
nranks=$((hosts * per_host))
tag=weftb-$$
log=$(mktemp /tmp/netns-job.XXXXXX)
cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$tag-"); do
    ip netns del "$ns" 2>/dev/null
  done
}
trap cleanup EXIT
ip netns add "$tag-switch" || exit 1
ip -n "$tag-switch" link add br0 type bridge || exit 1
ip -n "$tag-switch" link set br0 up
h=0
while [ $h -lt "$hosts" ]; do
  ns=$tag-h$h
  ip netns add "$ns" || exit 1
  ip -n "$ns" link add eth0 type veth peer name p$h netns "$tag-switch" || exit 1
  ip -n "$tag-switch" link set p$h master br0
  ip -n "$tag-switch" link set p$h up
  ip -n "$ns" addr add 10.78.0.$((h + 1))/24 dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  if [ -n "$rate" ]; then
    # Both directions of the host's link: its egress here, its ingress at the switch port.
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 50ms ||
      exit 1
    ip netns exec "$tag-switch" tc qdisc add dev p$h root tbf rate "$rate" burst 256kb \
      latency 50ms || exit 1
  fi
  h=$((h + 1))
done
h=0
while [ $h -lt "$hosts" ]; do
  tries=0
  until [ "$(ip netns exec "$tag-h$h" cat /sys/class/net/eth0/operstate)" = up ]; do
    tries=$((tries + 1))
    [ $tries -gt 200 ] && { echo "host $h's link is not up"; exit 1; }
    sleep 0.05
  done
  h=$((h + 1))
done

if [ $measure_link = 1 ]; then
  ip netns exec "$tag-h1" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 29555)); s.listen(1); c, _ = s.accept()
buf = bytearray(1 << 20); view = memoryview(buf); total = 0; start = None
while True:
    n = c.recv_into(view)
    if n == 0: break
    if start is None: start = time.time()
    total += n
print("link: %.3f GB/s (one TCP stream, %d MiB)" % (total / (time.time() - start) / 1e9, total >> 20))
' &
  server=$!
  sleep 0.5
  ip netns exec "$tag-h0" python3 -c '
import socket
s = socket.create_connection(("10.78.0.2", 29555)); buf = b"x" * (1 << 20)
for _ in range(256): s.sendall(buf)
s.close()
'
  wait $server
fi

secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
pids=""
h=0
while [ $h -lt "$hosts" ]; do
  # One IPC namespace per host, shared by its ranks (shared memory between them).
  ip netns exec "$tag-h$h" unshare --ipc -- sh -c '
    first=$1 per=$2 log=$3; shift 3
    r=$first; pids=""
    while [ $r -lt $((first + per)) ]; do
      if [ $r = 0 ]; then WEFT_RANK=$r "$@" & else WEFT_RANK=$r "$@" >>"$log" 2>&1 & fi
      pids="$pids $!"; r=$((r + 1))
    done
    s=0; for p in $pids; do wait $p || s=1; done; exit $s' sh $((h * per_host)) "$per_host" "$log" \
    env WEFT_NRANKS=$nranks WEFT_ROOT=10.78.0.1:29500 WEFT_SECRET="$secret" UCX_NET_DEVICES=eth0 \
    "$@" &
  pids="$pids $!"
  h=$((h + 1))
done
status=0
for p in $pids; do
  wait "$p" || status=1
done
echo "# other ranks' output: $log"
exit $status
