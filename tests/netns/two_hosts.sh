#!/bin/sh
# Two hosts on this machine: two network namespaces joined by a veth pair (10.77.0.1 and
# 10.77.0.2), each host's ranks in an IPC namespace of their own, so that Weft sees two
# machines (its host identity includes the IPC namespace) and UCX reaches the other host
# only over TCP on the veth link. Ranks 0-1 run on host a, 2-3 on host b; the bootstrap
# listens on host a's address. The namespaces are private to this test, so its fixed port
# cannot be taken by anything else.
#
#   two_hosts.sh BIN_DIR collectives   every collective, type and op across the hosts, exact
#   two_hosts.sh BIN_DIR partition     the link goes down mid-job (both hosts live on): every
#                                      rank must get an error within the bound, and abort
#
# Exits 77 (skipped) where network namespaces cannot be made (no root, or a container that
# forbids them).
set -u
bin=$1
mode=$2
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "SKIP: network namespaces need root, ip and unshare"
  exit 77
fi
a=weft-a-$$
b=weft-b-$$
cleanup() {
  ip netns del "$a" 2>/dev/null
  ip netns del "$b" 2>/dev/null
}
trap cleanup EXIT
if ! ip netns add "$a" 2>/dev/null || ! ip netns add "$b" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
if ! unshare --ipc true 2>/dev/null ||
  ! ip -n "$a" link add veth0 type veth peer name veth0 netns "$b" 2>/dev/null; then
  echo "SKIP: cannot make IPC namespaces or veth pairs here"
  exit 77
fi
set -e
ip -n "$a" addr add 10.77.0.1/24 dev veth0
ip -n "$b" addr add 10.77.0.2/24 dev veth0
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set veth0 up
done
set +e
# The kernel reports the link operational (carrier on both ends) a moment after it is set
# up; UCX ignores a device that is not, so wait for it (10 s at most).
for ns in "$a" "$b"; do
  tries=0
  until [ "$(ip netns exec "$ns" cat /sys/class/net/veth0/operstate)" = up ]; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ]; then
      echo "the veth link in $ns is not up after 10 s"
      exit 1
    fi
    sleep 0.05
  done
done

secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export WEFT_NRANKS=4 WEFT_ROOT=10.77.0.1:29400 WEFT_SECRET="$secret" UCX_NET_DEVICES=veth0
case "$mode" in
  collectives)
    export WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TUNE WEFT_TIMEOUT_MS=60000
    # Then sends and receives between every pair (a bootstrap of their own, on another
    # port: the first job's root may still be waiting for its last rank to leave).
    prog="$bin/coll_check --counts 0,1,3,64,1000,100003 &&
      WEFT_ROOT=10.77.0.1:29401 $bin/p2p_check exchange"
    ;;
  partition)
    # Rank 1 takes its host's end of the link down at its fourth all-reduce and goes on.
    export WEFT_TIMEOUT_MS=5000 FAULT_CHECK_CUT_LINK="ip link set veth0 down"
    prog="$bin/fault_check 1 20"
    ;;
  *)
    echo "unknown mode $mode"
    exit 2
    ;;
esac

# One shell per host, in the host's namespaces, starts its two ranks and fails if either does.
host() {
  ns=$1
  first=$2
  ip netns exec "$ns" unshare --ipc -- sh -c "
    WEFT_RANK=$first timeout 120 sh -c '$prog' & r0=\$!
    WEFT_RANK=$((first + 1)) timeout 120 sh -c '$prog' & r1=\$!
    wait \$r0; s0=\$?; wait \$r1; s1=\$?
    echo \"host $ns: ranks $first and $((first + 1)) exited with \$s0 and \$s1\"
    [ \$s0 = 0 ] && [ \$s1 = 0 ]"
}
out=$(mktemp)
trap 'cleanup; rm -f "$out"' EXIT
host "$a" 0 >"$out.a" 2>&1 &
pa=$!
host "$b" 2 >"$out.b" 2>&1 &
pb=$!
wait $pa
sa=$?
wait $pb
sb=$?
cat "$out.a" "$out.b" | tee "$out"
rm -f "$out.a" "$out.b"
[ $sa = 0 ] && [ $sb = 0 ] || exit 1
case "$mode" in
  collectives)
    # Every rank of both jobs saw two hosts joined by TCP, and every check passed.
    [ "$(grep -c 'cost model: tcp between hosts' "$out")" = 8 ] || {
      echo "FAIL: not every rank saw two hosts"
      exit 1
    }
    grep -q 'coll_check: [1-9][0-9]* passed, 0 failed' "$out" || exit 1
    [ "$(grep -c '^rank [0-3]: OK' "$out")" = 4 ] || exit 1
    ;;
  partition)
    [ "$(grep -c '^survivor [0-3]: OK' "$out")" = 4 ] || exit 1
    ;;
esac
echo "two_hosts $mode: OK"
