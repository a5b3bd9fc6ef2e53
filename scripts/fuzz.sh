#!/usr/bin/env bash
# Fuzzing with cargo fuzz (docs/FUZZING.md).
#
#   scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER_ARGS...]   # one target (default 600 s)
#   scripts/fuzz.sh all SECONDS                             # every target in turn
#   scripts/fuzz.sh list                                    # the targets
#   scripts/fuzz.sh seed                                    # only (re)fill the corpora
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz
# (pinned below) when it is missing. The corpora live in fuzz/corpus/TARGET (not in git):
# before each run they are seeded from the repository's own policies, tests and example
# tenants and from the inputs of past findings (tests/fuzz-regressions/). A crash, hang
# or out-of-memory input is written to fuzz/artifacts/TARGET/; see docs/FUZZING.md for
# what to do with it. One fuzzer at a time, in one process: the limits below bound its
# memory (`-rss_limit_mb`) and the time one input may take (`-timeout`). The targets that
# read files write them to a directory of their own; they run with TMPDIR set to one
# directory of this run, which is removed when the script ends, however the fuzzers ended.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.1
TARGETS=(policy_tenet policy_yaml fmt snapshot_json snapshot_jsonl snapshot_yaml test_file)

install() {
  if ! cargo +nightly fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
  fi
}

# seed TARGET: copies the repository's inputs for TARGET into its corpus.
seed() {
  local target=$1 dir=fuzz/corpus/$1 f
  mkdir -p "$dir"
  local files=()
  shopt -s nullglob globstar
  case $target in
    policy_tenet | fmt) files=(policies/*.tenet tests/corpus/**/*.tenet) ;;
    policy_yaml) files=(policies/*.yaml tests/corpus/**/*.yaml) ;;
    snapshot_json) files=(examples/tenants/*.json policies/fixtures/*.json) ;;
    snapshot_jsonl) files=(examples/tenants/*.jsonl) ;;
    snapshot_yaml) files=(examples/tenants/*.yaml policies/fixtures/*.yaml) ;;
    test_file) files=(policies/*.test.yaml) ;;
    *) echo "unknown target $target; targets: ${TARGETS[*]}" >&2; exit 2 ;;
  esac
  files+=(tests/fuzz-regressions/"$target"/*)
  shopt -u nullglob globstar
  for f in "${files[@]}"; do
    case $f in
      policies/*.test.yaml) [ "$target" = test_file ] || continue ;;
    esac
    cp "$f" "$dir/seed-$(echo "$f" | tr '/' '_')"
  done
}

# scratch: the directory of this run that the fuzzers' TMPDIR points at (made once).
scratch=
make_scratch() {
  if [ -z "$scratch" ]; then
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/tenet-fuzz-run.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
  fi
}

run() {
  local target=$1 seconds=$2
  shift 2
  seed "$target"
  make_scratch
  echo "-- $target: ${seconds}s"
  TMPDIR=$scratch cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -dict=fuzz/dict/tenet.dict -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 "$@"
}

case ${1:-} in
  list) printf '%s\n' "${TARGETS[@]}" ;;
  seed) for t in "${TARGETS[@]}"; do seed "$t"; done ;;
  all)
    install
    cargo +nightly fuzz build --sanitizer none
    for t in "${TARGETS[@]}"; do run "$t" "${2:?seconds}"; done
    ;;
  '' | -h | --help) sed -n '2,15p' "$0" ;;
  *)
    install
    target=$1 seconds=${2:-600}
    shift $(($# < 2 ? $# : 2))
    run "$target" "$seconds" "$@"
    ;;
esac
