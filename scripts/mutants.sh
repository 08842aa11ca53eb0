#!/usr/bin/env bash
# `make mutants`: the mutation check of the domain and authorizer rules (docs/testing.md).
# cargo-mutants (installed into ~/.cargo on first use) changes one thing at a time in the
# modules below (a `<` into `<=`, a body into `Ok(Default::default())`, ...) and runs the fast
# in-process tests (each crate's unit tests, on the in-memory adapters) against each change; a
# change no test notices is "missed". Not part of `make test`: every mutant is a rebuild, so a
# whole run takes a few hours on two cores. Output: MUTANTS_OUT (default target/mutants);
# read its mutants.out/missed.txt and caught.txt. Extra arguments go to cargo mutants, e.g.
#   bash scripts/mutants.sh --file crates/oauth/src/scope.rs   # one module only
#   bash scripts/mutants.sh --list                                  # what would be tried
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MUTANTS_VERSION=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -qF "$MUTANTS_VERSION"; then
  log "installing cargo-mutants $MUTANTS_VERSION into ~/.cargo"
  cargo install --locked cargo-mutants --version "$MUTANTS_VERSION"
fi

# The modules whose rules the check covers: the grant flows, refresh-token rotation, lockout,
# client records and credentials, scopes, the access-token verifier; the authorizer's route
# rules and the policy it answers with.
FILES=(
  'crates/service/src/endpoint/token.rs'
  'crates/service/src/endpoint/token/*.rs'
  crates/service/src/refresh/mod.rs
  crates/service/src/lockout.rs
  'crates/service/src/client/*.rs'
  crates/service/src/endpoint/introspect.rs
  crates/service/src/endpoint/revoke.rs
  crates/oauth/src/scope.rs
  crates/oauth/src/verify.rs
  crates/oauth/src/verify/claims.rs
  crates/oauth/src/verify/jws.rs
  crates/oauth/src/keys/low_s.rs
  functions/authorizer/src/route.rs
  functions/authorizer/src/policy.rs
)
args=()
for f in "${FILES[@]}"; do args+=(--file "$f"); done

OUT="${MUTANTS_OUT:-$ROOT/target/mutants}"
mkdir -p "$OUT"
# cargo-mutants builds each mutant in a copy of the source tree; one build directory of its own
# (kept between runs, so only the first run builds the dependencies) instead of the copy's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/mutants-build}"
log "cargo mutants on ${#FILES[@]} module paths, one job, output in $OUT/mutants.out"
# --lib: the in-process unit tests of the mutated crate only (no DynamoDB Local, no served
# functions); -j: one build at a time unless MUTANTS_JOBS says otherwise.
cargo mutants "${args[@]}" --cargo-test-arg=--lib --jobs "${MUTANTS_JOBS:-1}" \
  --minimum-test-timeout 60 --output "$OUT" "$@"
