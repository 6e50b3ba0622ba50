# The two commands of the README: `make demo` and `make test`. Both set up a fresh machine first.
VENV := .venv
BTB := $(VENV)/bin/btb

.PHONY: setup demo test bench clean worker-images

setup:
	./scripts/setup.sh

# Start the local stack, run campaigns/demo.yaml end to end, print the summary, stop the stack.
demo: setup
	$(BTB) up
	$(BTB) submit campaigns/demo.yaml --wait; status=$$?; $(BTB) down; exit $$status

# The test suite on real services (Redis, PostgreSQL, Celery workers started by the tests themselves).
# The Docker tests (provider, images, compose) need a Docker engine: scripts/dockerd.sh installs and starts
# one where none answers (vfs, host network); their images are built by the tests, cached between runs.
# The 30 slowest tests are listed at the end, so a CI log says where the suite's time goes.
test: setup
	./scripts/dockerd.sh
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=30

# The images compose.workers.yml runs (btb/worker:<version>, btb/redis:bookworm), built locally from Debian
# packages and wheels; skipped when up to date. Starts a Docker engine first where none answers.
worker-images:
	./scripts/dockerd.sh
	./scripts/build_worker_image.sh

# Benchmarks (on demand, not part of the tests).
bench: setup
	for b in benchmarks/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) results build *.egg-info
