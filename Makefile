# The verbs a newcomer can guess. `make demo` and `make test` are the README's two commands.
CARGO ?= cargo
PEER_KIT ?= $(abspath ../shared/peer-kit)

.PHONY: build demo test lint bench chaos local-up local-down

build:
	$(CARGO) build --workspace --locked

## The main job: a sample image pushed to 4 regions x 2 billing types on the local stack.
demo:
	./scripts/demo.sh

## Everything CI checks: formatting, lints, and every test.
test:
	./scripts/test.sh

## vmpush and the Python peer side by side on the same emulator (not part of `make test`):
## writes bench/results.md. BENCH_ARGS="--reps 1 --cases img1 --upload-gib 0" for a quick look;
## BENCH_ARGS="--cases mkt1 --merge" measures one case again and keeps the others.
bench:
	python3 bench/bench.py --peer-kit $(PEER_KIT) $(BENCH_ARGS)

## Kills at every Task state, seeded faults, the bad-input corpus and a secrets grep on the
## local stack (not part of `make test`, which runs a fast subset): writes bench/chaos.md.
chaos:
	$(CARGO) test --locked -p vmpush-it --test chaos -- --ignored --nocapture

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## The local cloud stack on 127.0.0.1 (installs on first use into .local-stack/).
local-up:
	$(CARGO) run --locked -q -p vmpush-cli -- local up

local-down:
	$(CARGO) run --locked -q -p vmpush-cli -- local down
