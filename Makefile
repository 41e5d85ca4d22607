# The verbs a newcomer can guess. `make demo` and `make test` are the README's two commands.
CARGO ?= cargo
PEER_KIT ?= $(abspath ../shared/peer-kit)

.PHONY: build demo test lint

build:
	$(CARGO) build --workspace --locked

## The main job: plan the peer kit's example push (the local stack joins as it lands).
demo:
	./scripts/demo.sh

## Everything CI checks: formatting, lints, and every test.
test:
	./scripts/test.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
