# The project's commands. `make test` is the one test command CI runs.
.PHONY: test demo bench size-build bindings-kotlin

test: ## every test suite (bindings/test.sh): Rust, Kotlin, Android checks, size build, Swift, TCF, browser
	@bash bindings/test.sh

bench: ## every benchmark, one table of figures, baselines, ratios and targets (docs/performance.md)
	@bash benches/run.sh

size-build: ## the release library with a standard library built for size, and the tests run against it
	@bash benches/size-build.sh --test

demo: ## the SDK end to end on the bundled policy
	@cargo run --quiet -p kmer-consent-cli -- demo

bindings-kotlin: ## Kotlin bindings for the Android build (android = true)
	@bash bindings/generate.sh kotlin-android
