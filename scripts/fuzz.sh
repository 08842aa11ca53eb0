#!/usr/bin/env bash
# `make fuzz`: builds the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer, AddressSanitizer, on the
# nightly toolchain) and runs each for FUZZ_SECONDS (default 300); `make test` runs the same
# with FUZZ_SECONDS=20 as a smoke test. Targets: all, or those named as arguments.
#   Each run starts from the committed seeds (fuzz/corpus/<target>, never written to) and from
#   what earlier runs found (fuzz/target/corpus/<target>, where new inputs go). A crash, a
#   panic or an input slower than FUZZ_TIMEOUT seconds fails the run; the input is left in
#   fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <that file>).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-300}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-10}"
CARGO_FUZZ_VERSION=0.13.1
TOOLS="$ROOT/fuzz/.tools"
# The same build flags for `build` and `run`, so running never rebuilds. 16 codegen units build
# the sanitizer-instrumented dependencies much faster than cargo-fuzz's default of 1.
BUILD_FLAGS=(--codegen-units 16)
[[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_SECONDS must be a whole number of seconds, not $SECONDS_PER_TARGET"

# cargo-fuzz into fuzz/.tools (pinned, built from its locked dependencies), and the nightly
# toolchain that libFuzzer's instrumentation needs.
ensure_cargo_fuzz() {
  command -v rustup >/dev/null || die "rustup is required (fuzzing needs the nightly toolchain)"
  if ! cargo +nightly --version >/dev/null 2>&1; then
    log "installing the nightly toolchain (rustup)"
    rustup toolchain install nightly --profile minimal
  fi
  if [[ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION into fuzz/.tools"
    cargo install --quiet --locked --root "$TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
  export PATH="$TOOLS/bin:$PATH"
}

ensure_cargo_fuzz
mapfile -t ALL < <(cargo +nightly fuzz list)
((${#ALL[@]})) || die "cargo fuzz list found no fuzz targets in fuzz/"
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")

# fuzz/Cargo.lock pins the same versions as the workspace's; refuse to drift silently.
cargo +nightly metadata --locked --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null \
  || die "fuzz/Cargo.lock is out of date: run cargo +nightly metadata --manifest-path fuzz/Cargo.toml and commit it"

log "building the fuzz targets (nightly, AddressSanitizer, into fuzz/target)"
started=$SECONDS
cargo +nightly fuzz build "${BUILD_FLAGS[@]}"
log "fuzz build took $((SECONDS - started)) s"

SUMMARY="$ROOT/fuzz/target/last-run.txt"
printf '%-18s %8s %12s %10s %8s\n' target seconds executions exec/s corpus >"$SUMMARY"
for t in "${TARGETS[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || die "no fuzz target $t (there are: ${ALL[*]})"
  work="fuzz/target/corpus/$t"
  out="fuzz/target/$t.log"
  mkdir -p "$work" "fuzz/artifacts/$t"
  log "fuzzing $t for $SECONDS_PER_TARGET s"
  t0=$SECONDS
  if ! cargo +nightly fuzz run "${BUILD_FLAGS[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb=2048 \
    -print_final_stats=1 >"$out" 2>&1; then
    tail -40 "$out" >&2
    die "fuzz target $t failed; the input is in fuzz/artifacts/$t/ (full log: $out)"
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$' | tail -1)"
  [[ -n "$execs" && "$execs" -gt 0 ]] || { tail -20 "$out" >&2; die "fuzz target $t ran no inputs (log: $out)"; }
  ran=$((SECONDS - t0))
  printf '%-18s %8s %12s %10s %8s\n' "$t" "$ran" "$execs" "$((execs / (ran > 0 ? ran : 1)))" \
    "$(find "$work" -type f | wc -l)" >>"$SUMMARY"
done
log "fuzzing done, no crash (seconds include start-up and loading the corpus):"
cat "$SUMMARY" >&2
