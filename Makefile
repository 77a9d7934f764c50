.PHONY: run test
run:
	bin/run
test:
	bin/test

.PHONY: bench
bench:
	.venv/bin/python bench/routing_latency.py --rate 20 --seconds 20
	DATABASE_URL=$${TIPLINE_BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
		.venv/bin/python bench/routing_latency.py --rate 20 --seconds 20
