.PHONY: run test test-postgres lint bench bench-webhooks

# Run the product with a demo tenant, SQLite and the Twilio simulator.
run:
	scripts/run-demo

# The whole test suite (SQLite unless TEST_DATABASE_URL says otherwise).
test:
	scripts/test

test-postgres:
	TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test scripts/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Inbox, thread and history queries on 1,000,000 messages (PostgreSQL), against
# the original design's grouping query; not part of the tests.
bench:
	.venv/bin/python -m benchmarks.inbox

# Signed status callbacks under gunicorn against a bare Flask app, on 1,000,000
# messages (PostgreSQL); --profile adds an in-process profile.
bench-webhooks:
	.venv/bin/python -m benchmarks.webhooks --profile
