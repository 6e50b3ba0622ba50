#!/bin/bash
# The same campaign at two revisions, run alternately (old, new, old, new, …), each in its own clone, state dir,
# ports and engines dir, then compared by benchmarks/compare_revisions.py (timings beside the noise between
# runs of one revision; answers). Why alternately: drift on a shared machine then hits both revisions alike.
#
#   benchmarks/revisions.sh OLD_REV NEW_REV [PAIRS=3] [CAMPAIGN=benchmarks/revisions.yaml] [WORK=/tmp/btb-revisions]
set -eu
old_rev=$1; new_rev=$2; pairs=${3:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
campaign=$(realpath "${4:-$repo/benchmarks/revisions.yaml}")
work=${5:-/tmp/btb-revisions}
mkdir -p "$work"
for side in old new; do
  rev=$old_rev; [ $side = new ] && rev=$new_rev
  [ -d "$work/$side" ] || git clone -q "$repo" "$work/$side"
  (cd "$work/$side" && git checkout -q "$rev" && ./scripts/setup.sh > "$work/setup-$side.log" 2>&1)
done
run() {  # $1 = side, $2 = label
  ( cd "$work/$1"
    export XDG_STATE_HOME=$work/state-$2 BTB_REDIS_PORT=6490 BTB_FLOWER_PORT=5655 BTB_PG_PORT=5540 \
           BTB_ENGINES_DIR=/var/lib/btb/revisions-$2
    mkdir -p "$BTB_ENGINES_DIR"; chmod 755 /var/lib/btb "$BTB_ENGINES_DIR"
    .venv/bin/btb up > "$work/$2.log" 2>&1
    sed "s/^name: .*/name: rev-$2/" "$campaign" > "$work/$2.yaml"
    start=$(date +%s); rc=0
    .venv/bin/btb submit "$work/$2.yaml" --wait >> "$work/$2.log" 2>&1 || rc=$?
    echo "$2: rc=$rc $(( $(date +%s) - start )) s"
    .venv/bin/btb down >> "$work/$2.log" 2>&1 )
}
for i in $(seq "$pairs"); do run old "old$i"; run new "new$i"; done
"$work/new/.venv/bin/python" "$repo/benchmarks/compare_revisions.py" \
  --old "$work"/old/results/rev-old* --new "$work"/new/results/rev-new*
