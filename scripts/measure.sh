#!/usr/bin/env bash
# Whole-process measurement of the six-rule workload (issue 4; benches/README.md).
#
#   scripts/measure.sh                 # 1M-user tenant, 100K-user tenant, bulk 2000 x 500
#   REPEAT=5 scripts/measure.sh        # best of 5 runs instead of 3
#   BULK20K=1 scripts/measure.sh       # also tenet -j2 on 20,000 x 500 (3.5 GB, bounded-memory check)
#   KEEP_DATA=1 scripts/measure.sh     # keep the generated files in $DATA
#
# Builds release, generates the data with examples/gen.rs into $DATA (default
# target/bench-data), and times with GNU time (`/usr/bin/time -v`): tenet at -j1 and -j2,
# the hand-written baseline (benches/bin/baseline.rs: structs of the whole export, the
# issue's baseline; and `--lean`, structs of the fields the rules read) and regorus
# (benches/bin/rego.rs), each the best of $REPEAT runs from a warm page cache, output to
# /dev/null. Prints a table of wall time, MB/s and peak RSS, then the issue's target
# ratios. Before timing, it checks that all programs report the same number of violations.
#
# Not run in CI: it needs ~750 MB of disk (3.5 GB more with BULK20K=1), a few GB of memory
# and a few minutes. Run nothing else heavy meanwhile: the machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-target/bench-data}
REPEAT=${REPEAT:-3}
USERS=${USERS:-1000000}
MID_USERS=${MID_USERS:-100000}
TENANTS=${TENANTS:-2000}
BULK_USERS=${BULK_USERS:-500}
NOW=2026-11-22T00:00:00Z
POLICY=benches/workload/six-rules.tenet

if ! /usr/bin/time -v true >/dev/null 2>&1; then
  echo "GNU time is missing: installing the 'time' package" >&2
  apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

echo "== build (release)" >&2
cargo build --release --quiet --bin tenet --example gen --example baseline --example rego
REV="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
TMP=$(mktemp -d)
cleanup() {
  rm -rf "$TMP" "${BIN:-}"
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -f "${SINGLE:-}" "${MID:-}" "${BULK:-}" "${BULK20:-}"; fi
}
trap cleanup EXIT

# Copies, so that a rebuild in the same target directory cannot swap a binary mid-run.
BIN=$(mktemp -d)
cp target/release/tenet target/release/examples/gen target/release/examples/baseline target/release/examples/rego "$BIN/"
TENET=$BIN/tenet
GEN=$BIN/gen
BASELINE=$BIN/baseline
REGO=$BIN/rego

mkdir -p "$DATA"
SINGLE="$DATA/single-$USERS.json"
MID="$DATA/single-$MID_USERS.json"
BULK="$DATA/bulk-${TENANTS}x$BULK_USERS.jsonl"
echo "== generate" >&2
"$GEN" single "$USERS" "$SINGLE"
"$GEN" single "$MID_USERS" "$MID"
"$GEN" bulk "$TENANTS" "$BULK_USERS" "$BULK"
if [ "${BULK20K:-0}" = 1 ]; then
  BULK20="$DATA/bulk-20000x$BULK_USERS.jsonl"
  "$GEN" bulk 20000 "$BULK_USERS" "$BULK20"
fi

size_of() { stat -c %s "$1"; }
# human N: 1000000 -> 1M, 100000 -> 100K.
human() {
  if [ $(($1 % 1000000)) = 0 ]; then echo "$(($1 / 1000000))M"
  elif [ $(($1 % 1000)) = 0 ]; then echo "$(($1 / 1000))K"
  else echo "$1"; fi
}
BIG=$(human "$USERS")
MIDL=$(human "$MID_USERS")

# count ENGINE FILE: the number of violations the program reports.
count() {
  local out="$TMP/count.out"
  case "$1" in
    tenet)
      "$TENET" check -p "$POLICY" "$2" --format jsonl -j 2 --now "$NOW" >"$out" || [ $? = 1 ]
      tail -n 1 "$out" | grep -o '"\(fail\|error\)":[0-9]*' | head -n 2 | awk -F: '{ s += $2 } END { print s }' ;;
    baseline) "$BASELINE" "$2" 2>/dev/null | wc -l ;;
    baseline-lean) "$BASELINE" --lean "$2" 2>/dev/null | wc -l ;;
    regorus) "$REGO" "$2" 2>/dev/null | wc -l ;;
  esac
}

# cmd ENGINE FILE: the command line to time.
cmd() {
  case "$1" in
    tenet-j1) echo "$TENET check -p $POLICY $2 --format jsonl -j 1 --now $NOW" ;;
    tenet-j2) echo "$TENET check -p $POLICY $2 --format jsonl -j 2 --now $NOW" ;;
    baseline) echo "$BASELINE $2" ;;
    baseline-lean) echo "$BASELINE --lean $2" ;;
    regorus) echo "$REGO $2" ;;
  esac
}

RESULTS="$TMP/results"
: >"$RESULTS"

# measure LABEL ENGINE FILE: best wall time of $REPEAT runs, and the largest peak RSS.
measure() {
  local label=$1 engine=$2 file=$3 best="" rss=0 c
  c=$(cmd "$engine" "$file")
  for _ in $(seq "$REPEAT"); do
    local t0 t1 wall kb status
    t0=$(date +%s%N)
    set +e
    # shellcheck disable=SC2086 # the command line is split on purpose
    /usr/bin/time -v -o "$TMP/time" $c >/dev/null 2>"$TMP/stderr"
    status=$?
    set -e
    t1=$(date +%s%N)
    if [ "$status" -gt 1 ]; then
      echo "$c exited with $status:" >&2
      cat "$TMP/stderr" "$TMP/time" >&2
      exit 1
    fi
    wall=$(( (t1 - t0) / 1000000 ))
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time")
    if [ -z "$best" ] || [ "$wall" -lt "$best" ]; then best=$wall; fi
    if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
  done
  local bytes
  bytes=$(size_of "$file")
  echo "$label $engine $best $rss $bytes" >>"$RESULTS"
  awk -v l="$label" -v e="$engine" -v ms="$best" -v kb="$rss" -v b="$bytes" \
    'BEGIN { printf "  %-12s %-9s %8.2f s %8.1f MB/s %8.0f MB peak RSS\n", l, e, ms / 1000, b / 1e6 / (ms / 1000), kb / 1024 }' >&2
}

echo "== check: the three programs report the same number of violations" >&2
for f in "$SINGLE" "$BULK"; do
  t=$(count tenet "$f"); b=$(count baseline "$f"); l=$(count baseline-lean "$f"); r=$(count regorus "$f")
  echo "  $(basename "$f"): tenet $t, baseline $b, baseline --lean $l, regorus $r" >&2
  if [ "$t" != "$b" ] || [ "$t" != "$l" ] || [ "$t" != "$r" ]; then
    echo "violation counts differ" >&2
    exit 1
  fi
done

echo "== measure (best of $REPEAT, warm cache)" >&2
for spec in "$BIG:$SINGLE" "$MIDL:$MID" "bulk:$BULK"; do
  label=${spec%%:*} file=${spec#*:}
  cat "$file" >/dev/null
  engines="tenet-j1 tenet-j2 baseline baseline-lean regorus"
  if [ "$file" = "$MID" ]; then engines="tenet-j1 tenet-j2 baseline baseline-lean"; fi
  for e in $engines; do measure "$label" "$e" "$file"; done
done
if [ -n "${BULK20:-}" ]; then
  cat "$BULK20" >/dev/null
  measure bulk20k tenet-j2 "$BULK20"
fi

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
echo "tenet $REV, $(rustc --version)"
echo "inputs: $BIG = $(basename "$SINGLE") ($(( $(size_of "$SINGLE") / 1000000 )) MB), $MIDL = $(basename "$MID") ($(( $(size_of "$MID") / 1000000 )) MB), bulk = $(basename "$BULK") ($(( $(size_of "$BULK") / 1000000 )) MB)"
echo
echo "| input | program | wall time | MB/s | peak RSS |"
echo "|---|---|---|---|---|"
awk '{ printf "| %s | %s | %.2f s | %.0f | %.0f MB |\n", $1, $2, $3 / 1000, $5 / 1e6 / ($3 / 1000), $4 / 1024 }' "$RESULTS"
echo
awk -v big="$BIG" -v mid="$MIDL" '
  { t[$1 "/" $2] = $3; m[$1 "/" $2] = $4 }
  function r(a, b) { return (b > 0) ? a / b : 0 }
  END {
    printf "targets (issue 4):\n"
    printf "  %s tenet -j1 / baseline time     %.2f  (target <= 0.8)\n", big, r(t[big "/tenet-j1"], t[big "/baseline"])
    printf "  %s regorus / tenet -j1 time      %.1f   (target >= 5)\n", big, r(t[big "/regorus"], t[big "/tenet-j1"])
    printf "  bulk tenet -j2 / baseline time  %.2f  (target <= 0.5)\n", r(t["bulk/tenet-j2"], t["bulk/baseline"])
    printf "  bulk tenet -j1 / -j2 speed-up   %.2f  (target >= 1.7)\n", r(t["bulk/tenet-j1"], t["bulk/tenet-j2"])
    printf "  %s tenet -j1 / baseline RSS      %.2f  (target <= 0.4)\n", big, r(m[big "/tenet-j1"], m[big "/baseline"])
    printf "  against the lean baseline: %s -j1 time %.2f, bulk -j2 time %.2f, %s -j1 RSS %.2f\n", big, r(t[big "/tenet-j1"], t[big "/baseline-lean"]), r(t["bulk/tenet-j2"], t["bulk/baseline-lean"]), big, r(m[big "/tenet-j1"], m[big "/baseline-lean"])
    printf "  bulk tenet -j2 peak RSS         %.0f MB (target <= 100)\n", m["bulk/tenet-j2"] / 1024
    if ("bulk20k/tenet-j2" in m) printf "  bulk 20,000 tenants tenet -j2 peak RSS  %.0f MB (target: no more than bulk)\n", m["bulk20k/tenet-j2"] / 1024
    printf "  %s / %s tenet -j1 time        %.1f   (target <= 11)\n", big, mid, r(t[big "/tenet-j1"], t[mid "/tenet-j1"])
  }' "$RESULTS"
