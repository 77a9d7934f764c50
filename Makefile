.PHONY: run test screenshots
run:
	bin/run
test:
	bin/test

# Renew the screenshots README.md and docs/tour.md show, from the browser tests' own journeys.
screenshots:
	mkdir -p docs/screenshots
	TIPLINE_DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e/test_browser.py

# Every benchmark, on SQLite and on PostgreSQL where docs/benchmarks.md has both. The PostgreSQL
# server's user must be able to create databases: a benchmark that fills one gets a new one.
POSTGRES_URL = $${TIPLINE_BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
SCRATCH_DATABASE = .venv/bin/python bench/with_scratch_database.py $(POSTGRES_URL) --

.PHONY: bench
bench:
	.venv/bin/python bench/routing_latency.py --rate 20 --seconds 20
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python bench/routing_latency.py --rate 20 --seconds 20
	.venv/bin/python bench/routing_latency.py --rate 20 --seconds 20 --workers 1 --processes 1
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python bench/routing_latency.py --rate 20 --seconds 20 --workers 1 --processes 1
	.venv/bin/python bench/gpg_settings.py --seconds 8
	.venv/bin/python bench/stats_dashboard.py
	$(SCRATCH_DATABASE) .venv/bin/python bench/stats_dashboard.py
	$(SCRATCH_DATABASE) .venv/bin/python bench/inbox_pages.py
	.venv/bin/python bench/submit_throughput.py --seconds 20
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python bench/submit_throughput.py --seconds 20
	for shape in "1 8" "2 2" "2 8" "4 2"; do set -- $$shape; \
		.venv/bin/python bench/submit_throughput.py --seconds 12 --rounds 3 --web-workers $$1 --web-threads $$2; done
	.venv/bin/python bench/large_upload.py --size-mib 1024
	.venv/bin/python bench/open_tip.py
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python bench/spam_flood.py --junk 2000 --genuine 20
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python bench/spam_flood.py --bot smart --junk 2000 --genuine 20 --sort-batch 100
	.venv/bin/python bench/proof_of_work.py --repeat 5
