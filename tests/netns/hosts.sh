#!/bin/sh
# Several hosts on this machine: one network namespace per host, each with a veth link to a
# switch (a bridge in a namespace of its own), host h at 10.77.0.(h+1); each host's ranks
# also share an IPC namespace of their own, so that Weft sees separate machines (its host
# identity includes the IPC namespace) and UCX reaches other hosts only over TCP on the
# links. Host h runs ranks 2h and 2h+1; the bootstrap listens on host 0's address. The
# namespaces are private to this test, so its fixed ports cannot be taken by anything else.
#
#   hosts.sh BIN_DIR N collectives   every collective (and send/receive between every pair)
#                                    across N hosts, exact
#   hosts.sh BIN_DIR N partition     host 0's link goes down mid-job (every host lives on):
#                                    every rank must get an error within the bound, and abort
#   hosts.sh BIN_DIR N proxy         every collective through the device path's ring, a CPU
#                                    thread standing in for the kernel and the proxy moving
#                                    its FIFOs between the hosts (WEFT_PROXY_STANDIN), exact;
#                                    then the device hierarchy's legs (every collective)
#   hosts.sh BIN_DIR N proxy-partition  the partition, with the stand-in kernel and proxy
#
# Exits 77 (skipped) where network namespaces cannot be made (no root, or a container that
# forbids them, or no veth or bridge support).
set -u
bin=$1
nhosts=$2
mode=$3
nranks=$((2 * nhosts))
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "SKIP: network namespaces need root, ip and unshare"
  exit 77
fi
tag=weft-$$
out=$(mktemp)
cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$tag-"); do
    ip netns del "$ns" 2>/dev/null
  done
  rm -f "$out" "$out".*
}
trap cleanup EXIT
skip() {
  echo "SKIP: $1"
  exit 77
}
unshare --ipc true 2>/dev/null || skip "cannot make IPC namespaces here"
ip netns add "$tag-switch" 2>/dev/null || skip "cannot create network namespaces here"
ip -n "$tag-switch" link add br0 type bridge 2>/dev/null || skip "no bridge support here"
ip -n "$tag-switch" link set br0 up
ip -n "$tag-switch" link set lo up
h=0
while [ $h -lt "$nhosts" ]; do
  ns=$tag-h$h
  ip netns add "$ns" || exit 1
  ip -n "$ns" link add eth0 type veth peer name p$h netns "$tag-switch" 2>/dev/null ||
    skip "no veth support here"
  ip -n "$tag-switch" link set p$h master br0
  ip -n "$tag-switch" link set p$h up
  ip -n "$ns" addr add 10.77.0.$((h + 1))/24 dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  h=$((h + 1))
done
# The kernel reports a link operational (carrier on both ends) a moment after it is set up;
# UCX ignores a device that is not, so wait for every host's (10 s at most).
h=0
while [ $h -lt "$nhosts" ]; do
  tries=0
  until [ "$(ip netns exec "$tag-h$h" cat /sys/class/net/eth0/operstate)" = up ]; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ]; then
      echo "host $h's link is not up after 10 s"
      exit 1
    fi
    sleep 0.05
  done
  h=$((h + 1))
done

secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export WEFT_NRANKS=$nranks WEFT_ROOT=10.77.0.1:29400 WEFT_SECRET="$secret" UCX_NET_DEVICES=eth0
case "$mode" in
  collectives)
    export WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TUNE WEFT_TIMEOUT_MS=60000
    types=all
    [ "$nhosts" -gt 2 ] && types=float,int32,bfloat16,f8e4m3
    # Then sends and receives between every pair (a bootstrap of its own, on another port:
    # the first job's root may still be waiting for its last rank to leave).
    # Then the hierarchical algorithms (inside each host, then between hosts), forced.
    prog="$bin/coll_check --types $types --counts 0,1,3,64,1000,100003 &&
      WEFT_ROOT=10.77.0.1:29401 $bin/p2p_check exchange &&
      WEFT_ALGO=hier WEFT_ROOT=10.77.0.1:29402 $bin/coll_check --types float,int32 \
        --ops sum,avg --counts 0,1,7,1000,100003"
    ;;
  partition | proxy-partition)
    # Rank 1 takes its host's link down at its fourth all-reduce and goes on.
    export WEFT_TIMEOUT_MS=5000 FAULT_CHECK_CUT_LINK="ip link set eth0 down"
    [ "$mode" = proxy-partition ] && export WEFT_PROXY_STANDIN=1
    prog="$bin/fault_check 1 20"
    ;;
  proxy)
    export WEFT_PROXY_STANDIN=1 WEFT_TIMEOUT_MS=60000
    types=all
    [ "$nhosts" -gt 2 ] && types=float,int32,bfloat16,f8e4m3
    # Then the device hierarchy's legs (sub-communicators of each host and each rail, the
    # rail's legs through the stand-in and the proxy) on host buffers.
    prog="$bin/coll_check --types $types --ops sum,prod,max,avg --counts 0,1,7,1000,100003 &&
      WEFT_ROOT=10.77.0.1:29401 $bin/coll_check --types float,int32 --ops sum --group \
        --premulsum --counts 1,4097,100003 &&
      WEFT_ALGO=hier WEFT_DEVICE_HIER_ON_HOST=1 WEFT_ROOT=10.77.0.1:29402 $bin/coll_check \
        --types float,int32,bfloat16 --ops sum,max --counts 0,1,7,1000,100003"
    ;;
  *)
    echo "unknown mode $mode"
    exit 2
    ;;
esac

# One shell per host, in the host's namespaces, starts its two ranks and fails if either does.
host() {
  first=$((2 * $1))
  ip netns exec "$tag-h$1" unshare --ipc -- sh -c "
    WEFT_RANK=$first timeout 120 sh -c '$prog' & r0=\$!
    WEFT_RANK=$((first + 1)) timeout 120 sh -c '$prog' & r1=\$!
    wait \$r0; s0=\$?; wait \$r1; s1=\$?
    echo \"host $1: ranks $first and $((first + 1)) exited with \$s0 and \$s1\"
    [ \$s0 = 0 ] && [ \$s1 = 0 ]"
}
pids=""
h=0
while [ $h -lt "$nhosts" ]; do
  host $h >"$out.$h" 2>&1 &
  pids="$pids $!"
  h=$((h + 1))
done
failed=0
for p in $pids; do
  wait "$p" || failed=1
done
h=0
while [ $h -lt "$nhosts" ]; do
  cat "$out.$h"
  h=$((h + 1))
done | tee "$out"
[ $failed = 0 ] || exit 1
case "$mode" in
  collectives)
    # Every rank of the three jobs saw the hosts joined by TCP, and every check passed.
    [ "$(grep -c 'cost model: tcp between hosts' "$out")" = $((3 * nranks)) ] || {
      echo "FAIL: not every rank saw separate hosts"
      exit 1
    }
    [ "$(grep -c 'coll_check: [1-9][0-9]* passed, 0 failed' "$out")" = 2 ] || exit 1
    [ "$(grep -c '^rank [0-9]*: OK' "$out")" = "$nranks" ] || exit 1
    ;;
  partition | proxy-partition)
    [ "$(grep -c '^survivor [0-9]*: OK' "$out")" = "$nranks" ] || exit 1
    ;;
  proxy)
    [ "$(grep -c 'coll_check: [1-9][0-9]* passed, 0 failed' "$out")" = 3 ] || exit 1
    ;;
esac
echo "hosts.sh $nhosts $mode: OK"
