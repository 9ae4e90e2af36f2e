"""Helpers shared by the benchmarks: a scratch PostgreSQL database and timing."""

import statistics
import time
import uuid

import sqlalchemy as sa

from dashboard.config import database_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def scratch_database(server_url, prefix):
    """Create an empty database next to `server_url`'s; returns (url, drop)."""
    url = sa.make_url(database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def timings(run, repeat, warmup=5):
    """Milliseconds of each of `repeat` calls of `run`, after a warm-up."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples):
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 0.95),
    }
