#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (default 60); fails on any crash.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). By default it runs on the stable
# toolchain without a sanitizer (RUSTC_BOOTSTRAP lets cargo-fuzz pass its coverage
# flags); SANITIZER=address (or another cargo-fuzz sanitizer) runs them on the nightly
# toolchain under that sanitizer. Name targets after SECONDS to run only those.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
sanitizer="${SANITIZER:-none}"
if [ "$sanitizer" = none ]; then
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
else
  cargo=(cargo +nightly)
fi
targets="${*:-$("${cargo[@]}" fuzz list)}"
for t in $targets; do
  mkdir -p "work/$t"
  echo "== $t (${seconds}s, sanitizer: $sanitizer)"
  "${cargo[@]}" fuzz run --sanitizer "$sanitizer" "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 15
done
echo "every target ran ${seconds}s without a crash (sanitizer: $sanitizer)"
