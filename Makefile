.PHONY: run test
run:
	bin/run
test:
	bin/test
