#!/bin/sh
# Data-parallel training across two "hosts": two network namespaces of this test's own, joined by
# a veth pair with addresses of its own (10.213.N.1 and .2), each with its own host name (a UTS
# namespace) and temporary directory. mpirun runs in the first; Open MPI's launcher reaches the
# second through an agent script (ip netns exec, in place of ssh); the ranks talk over TCP only
# (btl self,tcp, restricted to the veth's subnet). 2 ranks at the global batch 4 end with the
# weights of one process at batch 4 (within 1e-6 relative). The namespaces are removed on every
# exit. Skipped, saying why, where namespaces cannot be made (not root, no ip, no CAP_SYS_ADMIN).
# variants: normal
set -eu
cd "$TMPDIR"
"$BIN/tfswa-net" --help > help.txt
if ! grep -q '^MPI .*: built in' help.txt; then
    echo "tfswa-net built without MPI ($(grep '^MPI' help.txt)): install libopenmpi-dev (make deps) and rebuild"
    exit 77
fi
command -v mpirun >/dev/null || { echo "mpirun not found (openmpi-bin)"; exit 77; }
command -v ip >/dev/null || { echo "ip not found (iproute2): cannot make network namespaces"; exit 77; }
command -v unshare >/dev/null || { echo "unshare not found (util-linux)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "not root: cannot make network namespaces"; exit 77; }

id=$$
NA=tfswa-$id-a NB=tfswa-$id-b VA=tfa$id VB=tfb$id
NET=10.213.$((id % 250 + 1))
cleanup() {
    ip netns del "$NA" 2>/dev/null || true # removes the veth pair with it
    ip netns del "$NB" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
if ! ip netns add "$NA" 2>err.txt; then
    echo "cannot make a network namespace here: $(head -n 1 err.txt)"
    exit 77
fi
ip netns add "$NB"
ip link add "$VA" type veth peer name "$VB"
ip link set "$VA" netns "$NA"
ip link set "$VB" netns "$NB"
ip -n "$NA" addr add "$NET.1/24" dev "$VA"
ip -n "$NB" addr add "$NET.2/24" dev "$VB"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set "$VA" up
ip -n "$NB" link set "$VB" up

# Open MPI's remote launcher: "AGENT HOST COMMAND..." runs COMMAND (a shell command line) on HOST
mkdir -p tmp-a tmp-b
cat > agent.sh <<EOF
#!/bin/sh
# the first arguments that are options of ssh are dropped
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case "\$host" in
    $NET.2) ns=$NB name=nodeb dir=$TMPDIR/tmp-b ;;
    *) echo "agent.sh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c 'hostname "\$0"; export TMPDIR="\$1"; shift 2; exec sh -c "\$*"' \
    "\$name" "\$dir" -- "\$@"
EOF
chmod +x agent.sh

"$BUILD/tests/helpers/musdb_fixture" tree root 2
SLICE="$BIN/musdb-slice -q --random --segment 0.3 --seed 5 -S vocals,other"
STFT="$BIN/stft -q -n 256 -H 64"
$SLICE --count 12 root | $STFT > train.ts
for k in 0 1; do $SLICE --count 12 --shard $k/2 root | $STFT > sh$k.ts; done
"$BIN/tfswa-net" --init -m init.ckpt --preset band --n-fft 256 --hop 64 --stems vocals,other --seed 1 \
    --dims 16,16,16,16 --heads 2 --depths 1,1,1,1 --mask-hidden 16 2>/dev/null
ARGS="--train --batch-size 4 --steps 3 --save-every 2 --lr 3e-3 -j 1 -q"
cp init.ckpt one.ckpt
"$BIN/tfswa-net" $ARGS -m one.ckpt train.ts

cp init.ckpt two.ckpt
rc=0
ip netns exec "$NA" unshare --uts sh -c 'hostname nodea; exec "$@"' sh env TMPDIR="$TMPDIR/tmp-a" \
    timeout 300 mpirun --allow-run-as-root -np 2 --host "$NET.1:1,$NET.2:1" \
    --mca plm_rsh_agent "$TMPDIR/agent.sh" --mca btl self,tcp \
    --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
    -x PATH -x ASAN_OPTIONS -x UBSAN_OPTIONS \
    sh -c 'readlink /proc/self/ns/net > "ns$OMPI_COMM_WORLD_RANK.txt"; hostname > "host$OMPI_COMM_WORLD_RANK.txt"
           exec "$0" '"$ARGS"' -m two.ckpt "sh$OMPI_COMM_WORLD_RANK.ts"' "$BIN/tfswa-net" >out.txt 2>&1 || rc=$?
[ $rc = 0 ] || { echo "mpirun across the namespaces: exit $rc" >&2; cat out.txt >&2; exit 1; }
# the two ranks ran in the two namespaces, on the two host names
[ "$(cat ns0.txt)" = "$(ip netns exec "$NA" readlink /proc/self/ns/net)" ] &&
[ "$(cat ns1.txt)" = "$(ip netns exec "$NB" readlink /proc/self/ns/net)" ] ||
    { echo "ranks not in the namespaces: $(cat ns0.txt ns1.txt)" >&2; exit 1; }
[ "$(cat host0.txt) $(cat host1.txt)" = "nodea nodeb" ] || { echo "hosts: $(cat host0.txt host1.txt)" >&2; exit 1; }

"$PYTHON" - "$TOP/examples/python" one.ckpt two.ckpt <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tfswa_stream
(aa, at), (ba, bt) = (next(iter(tfswa_stream.read(open(p, "rb")))) for p in sys.argv[2:4])
assert aa["train_step"] == ba["train_step"] == "3", (aa["train_step"], ba["train_step"])
worst = max(np.abs(at[n].astype(np.float64) - bt[n]).max() / max(np.abs(at[n]).max(), 1e-30) for n in at)
print("2 ranks across namespaces vs 1 process: largest relative difference %.3g" % worst)
assert worst <= 1e-6
EOF
echo ok
