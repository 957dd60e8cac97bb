#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (default 60); fails on any crash.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain the sanitizer is
# off and RUSTC_BOOTSTRAP lets cargo-fuzz pass its coverage flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list)
for t in $targets; do
  mkdir -p "work/$t"
  echo "== $t (${seconds}s)"
  cargo fuzz run --sanitizer none "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 15
done
echo "all targets ran ${seconds}s without a crash"
