"""Signed status callbacks per second through gunicorn, against a bare Flask app.

    .venv/bin/python -m benchmarks.webhooks [--messages 1000000] [--duration 20]
        [--clients 2] [--connections 8] [--profile]

Fills a scratch PostgreSQL database (created next to BENCH_DATABASE_URL, default
the local `test` database, and dropped afterwards) with one tenant, its wallet,
its Twilio settings and `--messages` queued outbound messages. Then serves, in
turn and with the same gunicorn settings on loopback, a bare Flask app
(benchmarks/bare_app.py), a write-only WSGI function doing just the callback's
signature check and UPDATE (benchmarks/write_only_app.py) and the app; drives
each with signed status callbacks for `--duration` seconds, prints requests/s
and p50/p99 latency with the app's ratio to both, and checks that every
accepted callback moved its message. `--profile` then runs callbacks in-process,
straight into the WSGI app, and prints their CPU profile (by library, then the
top entries) and the CPU that an empty view costs behind the app's request hooks
against bare Flask.

Each callback names a different message, so every accepted one must move a
queued message forward (to sent, delivered or read in turn). The load comes from
`--clients` processes, each keeping `--connections` keep-alive connections busy
with requests built and signed beforehand; a request costs the client one write
and one read, and the client's own CPU time is printed beside the figures.
"""

import argparse
import asyncio
import cProfile
import hashlib
import io
import logging
import multiprocessing
import os
import pstats
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import psutil
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder

from dashboard import PROJECT_ROOT, create_app
from dashboard.credentials import encrypt_secret
from dashboard.extensions import csrf, db, dispose_engines
from dashboard.twilio_setup.settings import TwilioSettings
from dashboard.urls import STATUS_WEBHOOK_PATH, WEBHOOKS_PREFIX

from .common import DEFAULT_SERVER, percentile, scratch_database

HOST = "127.0.0.1"
TENANT_ID = 1
ACCOUNT_SID = "AC" + "b" * 32
SENDER = "+14155238886"
STATUSES = ("sent", "delivered", "read")
# BENCH_GUNICORN overrides the server settings, which both apps share.
GUNICORN = os.environ.get(
    "BENCH_GUNICORN", "-w 4 -k gthread --threads 4 --keep-alive 30"
).split()
# The in-process measure of the request hooks' cost serves an empty view here,
# beside the webhooks, so that it pays what they pay.
EMPTY_PATH = WEBHOOKS_PREFIX + "bench-empty"
GOAL_PER_SECOND = 1000
GOAL_RATIO = 0.5
WARMUP_SECONDS = 2


def main():
    options = _options()
    url, drop = scratch_database(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER), "dashboard_bench"
    )
    app_port, bare_port, write_only_port = _free_port(), _free_port(), _free_port()
    auth_token = secrets.token_hex(16)
    environ = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": f"http://{HOST}:{app_port}",
        # Only the write-only baseline reads these two.
        "BENCH_AUTH_TOKEN": auth_token,
        "BENCH_TENANT_ID": str(TENANT_ID),
    }
    app = create_app(environ=environ)
    logging.getLogger("dashboard").setLevel(logging.WARNING)
    try:
        with app.app_context():
            started = time.perf_counter()
            _fill(options.messages, auth_token)
            print(
                f"filled {options.messages:,} queued messages "
                f"in {time.perf_counter() - started:.0f} s"
            )
        target = f"{environ['PUBLIC_BASE_URL']}{STATUS_WEBHOOK_PATH}"
        pool = _signed_pool(target, auth_token, options.pool)
        print(f"gunicorn {' '.join(GUNICORN)}; {options.clients} client processes")
        print(f"x {options.connections} keep-alive connections, {options.duration} s")
        bare = _serve_and_drive(
            "benchmarks.bare_app:app", bare_port, environ, pool, options, cycle=True
        )
        write_only = _serve_and_drive(
            "benchmarks.write_only_app:app",
            write_only_port,
            environ,
            pool,
            options,
            cycle=False,
        )
        # Each run moves messages of its own: the app's start where these end.
        dashboard = _serve_and_drive(
            "wsgi:app", app_port, environ, pool[write_only["next"] :], options, False
        )
        _report(dashboard, bare, write_only)
        with app.app_context():
            _check_applied(dashboard["accepted"] + write_only["accepted"])
        if options.profile:
            _profile(app, target, auth_token, options)
            _framework_cost(environ, target, auth_token)
    finally:
        with app.app_context():
            db.session.remove()
            dispose_engines()
        drop()


def _options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--pool", type=int, default=150_000, help="signed callbacks built beforehand"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-callbacks", type=int, default=3000)
    options = parser.parse_args()
    if options.pool + options.profile_callbacks > options.messages:
        parser.error("--pool plus --profile-callbacks exceeds --messages")
    return options


def _fill(messages, auth_token):
    """Schema through the migrations; messages through one set-based INSERT whose
    SIDs `_sid` reproduces; the Twilio settings through the model."""
    upgrade(revision="0001")
    statements = [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 'Bench', now())",
        "INSERT INTO wallets (id, tenant_id, balance, updated_at) "
        "VALUES (1, 1, 0, now())",
        f"""
        INSERT INTO messages (
            tenant_id, wallet_id, sid, direction, from_number, to_number,
            contact_number, body, message_type, status, status_rank, cost,
            num_media, created_at, updated_at)
        SELECT 1, 1, 'SM' || md5(g::text), 'outbound', '{SENDER}', contact,
               contact, 'Message ' || g, 'free', 'queued', 2, 275, 0,
               now() - make_interval(secs => {messages} - g),
               now() - make_interval(secs => {messages} - g)
        FROM (SELECT g, '+55119' || lpad((g % 100000)::text, 8, '0') AS contact
              FROM generate_series(1, {messages}) AS g) AS numbered
        """,
    ]
    for statement in statements:
        db.session.execute(sa.text(statement))
    db.session.commit()
    upgrade()
    db.session.add(
        TwilioSettings(
            tenant_id=TENANT_ID,
            account_sid=ACCOUNT_SID,
            auth_token_encrypted=encrypt_secret(auth_token),
            auth_token_last4=auth_token[-4:],
            whatsapp_number=SENDER,
        )
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # Rewritten as if inserted under the current schema (the messages were
        # loaded before the migration that leaves room in each page).
        c.execute(sa.text("VACUUM FULL messages"))
        c.execute(sa.text("VACUUM ANALYZE"))
        # Start the run from a fresh checkpoint rather than meet one half-way.
        c.execute(sa.text("CHECKPOINT"))


def _sid(number):
    return "SM" + hashlib.md5(str(number).encode(), usedforsecurity=False).hexdigest()


def _callback(target, validator, number):
    """Form and headers of a signed callback moving message `number` forward."""
    form = {
        "MessageSid": _sid(number),
        "MessageStatus": STATUSES[number % len(STATUSES)],
        "AccountSid": ACCOUNT_SID,
    }
    return form, {"X-Twilio-Signature": validator.compute_signature(target, form)}


def _signed_pool(target, auth_token, size):
    """Raw HTTP requests for messages 1..size, signed for `target`."""
    validator = RequestValidator(auth_token)
    pool = []
    for number in range(1, size + 1):
        form, headers = _callback(target, validator, number)
        body = urlencode(form).encode()
        head = (
            f"POST {STATUS_WEBHOOK_PATH} HTTP/1.1\r\nHost: {HOST}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {headers['X-Twilio-Signature']}\r\n\r\n"
        )
        pool.append((number, head.encode() + body))
    return pool


def _free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _serve_and_drive(wsgi_app, port, environ, pool, options, cycle):
    """Start gunicorn on `port`, warm it up, drive it, stop it; the figures."""
    command = [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"{HOST}:{port}"]
    with tempfile.TemporaryFile(mode="w+") as log:
        # The command is ours: this interpreter, fixed settings, a module name.
        server = subprocess.Popen(  # noqa: S603
            [*command, wsgi_app],
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(port, server)
            load_before = os.getloadavg()[0]
            warmup = _drive(port, pool, options, WARMUP_SECONDS, 0, cycle)
            measured = _server_processes(server.pid)
            cpu_before = _cpu_seconds(measured)
            timed = _drive(port, pool, options, options.duration, warmup["next"], cycle)
            cpu_after = _cpu_seconds(measured)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        log.seek(0)
        server_errors = [line for line in log if "ERROR" in line]

    timed["load"] = (load_before, os.getloadavg()[0])
    timed["cpu_ms"] = {
        role: (cpu_after[role] - cpu_before[role]) * 1000 / max(timed["requests"], 1)
        for role in cpu_before
    }
    timed["accepted"] = warmup["accepted"] + timed["accepted"]
    timed["errors"] = [line.rstrip() for line in server_errors[:5]]
    return timed


def _server_processes(gunicorn_pid):
    """gunicorn with its workers, and every PostgreSQL process on this machine
    (the benchmark's backends, and the writers that flush after them)."""
    gunicorn = psutil.Process(gunicorn_pid)
    postgres = [
        process
        for process in psutil.process_iter(["name"])
        if (process.info["name"] or "").startswith("postgres")
    ]
    return {
        "gunicorn": [gunicorn, *gunicorn.children(recursive=True)],
        "postgres": postgres,
    }


def _cpu_seconds(processes):
    """User and system CPU seconds used so far, by role."""
    used = {}
    for role, members in processes.items():
        used[role] = 0.0
        for process in members:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue  # a backend that ended; its share is lost, not guessed
            used[role] += times.user + times.system
    return used


def _wait_until_serving(port, server, timeout=30):
    """Until a worker answers (a GET on the POST-only path: 405, no side effect)."""
    deadline = time.monotonic() + timeout
    probe = f"GET {STATUS_WEBHOOK_PATH} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=2) as connection:
                connection.sendall(probe)
                if connection.recv(64).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port}")


def _drive(port, pool, options, duration, start, cycle):
    """`options.clients` processes, each with its own share of the pool."""
    remaining = pool[start:] if not cycle else pool
    shares = [remaining[i :: options.clients] for i in range(options.clients)]
    begin = time.time() + 0.5
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(
            target=_client,
            args=(port, share, options.connections, begin, duration, cycle, results),
        )
        for share in shares
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get() for _ in workers]
    for worker in workers:
        worker.join()

    latencies = [ms for outcome in outcomes for ms in outcome["latencies"]]
    codes = sum((outcome["codes"] for outcome in outcomes), Counter())
    used = sum(outcome["used"] for outcome in outcomes)
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / duration,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "codes": codes,
        "accepted": sum((outcome["accepted"] for outcome in outcomes), Counter()),
        "client_cpu": sum(outcome["cpu"] for outcome in outcomes) / duration,
        "exhausted": any(outcome["exhausted"] for outcome in outcomes),
        # Shares are interleaved, so the next unused request is past the most
        # used share; requests in between are skipped rather than reused.
        "next": start + options.clients * max(o["used"] for o in outcomes),
        "used": used,
    }


def _client(port, share, connections, begin, duration, cycle, results):
    """One load process: `connections` keep-alive connections sending in turn."""
    time.sleep(max(0, begin - time.time()))
    cpu_before = time.process_time()
    outcome = asyncio.run(_connections(port, share, connections, duration, cycle))
    outcome["cpu"] = time.process_time() - cpu_before
    results.put(outcome)


async def _connections(port, share, connections, duration, cycle):
    state = {
        "latencies": [],
        "codes": Counter(),
        "accepted": Counter(),
        "used": 0,
        "exhausted": False,
    }
    deadline = time.perf_counter() + duration
    await asyncio.gather(
        *(_connection(port, share, deadline, cycle, state) for _ in range(connections))
    )
    return state


async def _connection(port, share, deadline, cycle, state):
    reader, writer = await asyncio.open_connection(HOST, port)
    while time.perf_counter() < deadline:
        if state["used"] >= len(share) and not cycle:
            state["exhausted"] = True
            break
        number, request = share[state["used"] % len(share)]
        state["used"] += 1

        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length, closing = _length_and_close(head)
        if length:
            await reader.readexactly(length)
        state["latencies"].append((time.perf_counter() - started) * 1000)

        code = int(head[9:12])
        state["codes"][code] += 1
        if code == 200:
            state["accepted"][STATUSES[number % len(STATUSES)]] += 1
        if closing:
            writer.close()
            reader, writer = await asyncio.open_connection(HOST, port)
    writer.close()


def _length_and_close(head):
    length, closing = 0, False
    for line in head.lower().split(b"\r\n")[1:]:
        if line.startswith(b"content-length:"):
            length = int(line[15:])
        elif line.startswith(b"connection:") and b"close" in line:
            closing = True
    return length, closing


def _report(dashboard, bare, write_only):
    print(f"{'server':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  answers")
    runs = (("app", dashboard), ("bare", bare), ("write-only", write_only))
    for name, figures in runs:
        codes = ", ".join(f"{c}: {n:,}" for c, n in sorted(figures["codes"].items()))
        print(
            f"{name:<10} {figures['per_second']:>9.0f} {figures['p50']:>8.2f} "
            f"{figures['p99']:>8.2f}  {codes}; client CPU "
            f"{figures['client_cpu']:.2f} cores; load average "
            f"{figures['load'][0]:.1f} -> {figures['load'][1]:.1f}"
        )
        cpu = figures["cpu_ms"]
        print(
            f"{'':<10} CPU per request: gunicorn {cpu['gunicorn']:.2f} ms, "
            f"PostgreSQL {cpu['postgres']:.2f} ms"
        )
        if figures["exhausted"]:
            print(f"  {name}: the signed pool ran out; raise --pool")
        for line in figures["errors"]:
            print(f"  {name} server log: {line}")

    ratio = dashboard["per_second"] / bare["per_second"]
    write_only_ratio = write_only["per_second"] / bare["per_second"]
    print(
        f"write-only / bare: {write_only_ratio:.2f} (the database write's own cost); "
        f"app / write-only: {dashboard['per_second'] / write_only['per_second']:.2f}"
    )
    rate_met = "met" if dashboard["per_second"] >= GOAL_PER_SECOND else "MISSED"
    ratio_met = "met" if ratio >= GOAL_RATIO else "MISSED"
    print(f"app / bare: {ratio:.2f} (goal >= {GOAL_RATIO}: {ratio_met})")
    print(f"app callbacks/s goal >= {GOAL_PER_SECOND}: {rate_met}")


def _check_applied(accepted):
    """Each callback the app or the write-only baseline accepted named a
    different queued message: each one moved."""
    moved = dict(
        db.session.execute(
            sa.text(
                "SELECT status, count(*) FROM messages "
                "WHERE status <> 'queued' GROUP BY status"
            )
        ).all()
    )
    print(f"{'status':<10} {'accepted':>9} {'moved':>9}")
    for status in STATUSES:
        print(f"{status:<10} {accepted[status]:>9,} {moved.get(status, 0):>9,}")
    total = sum(accepted.values())
    verdict = "all applied" if moved == dict(accepted) else "MISMATCH"
    print(
        f"accepted {total:,} (app and write-only), moved {sum(moved.values()):,}: "
        f"{verdict}"
    )


def _profile(app, target, auth_token, options):
    """Callbacks in-process, straight into the WSGI app: the rate, then where
    the CPU goes (the server is CPU-bound under load, so cProfile counts CPU
    time, not the wait for PostgreSQL's commit)."""
    validator = RequestValidator(auth_token)
    first = options.messages - options.profile_callbacks + 1
    environs = [
        _environ(target, *_callback(target, validator, number))
        for number in range(first, options.messages + 1)
    ]
    warmup, measured = environs[:200], environs[200:]
    half = len(measured) // 2
    devnull = _log_to_devnull()
    _call(app, warmup)

    wall, cpu = time.perf_counter(), time.process_time()
    codes = _call(app, measured[:half])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"in-process, one thread, no profiler: {half / wall:.0f} callbacks/s; "
        f"each {wall / half * 1000:.2f} ms, of which CPU {cpu / half * 1000:.2f} ms"
    )

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    codes += _call(app, measured[half:])
    profiler.disable()
    devnull.close()
    print(
        f"profiled {len(measured) - half:,} callbacks; answers to all "
        f"{len(measured):,} measured: {dict(codes)}"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    _print_cpu_by_library(stats)
    stats.sort_stats("cumulative").print_stats(20)
    stats.sort_stats("tottime").print_stats(15)


def _framework_cost(environ, target, auth_token):
    """CPU per request of an empty view in-process, in bare Flask and behind
    the app's request hooks, given a signed callback: what a webhook pays before
    its view does anything."""
    bare = Flask(__name__)
    hooked = create_app(environ=environ)
    for flask_app in (bare, hooked):
        flask_app.add_url_rule(EMPTY_PATH, view_func=_empty, methods=["POST"])
    form, headers = _callback(target, RequestValidator(auth_token), 1)
    warmup, measured = 500, 10_000
    environs = [_environ(target, form, headers, path=EMPTY_PATH)] * (warmup + measured)

    costs = {}
    for name, flask_app in (("bare", bare), ("hooked", hooked)):
        _call(flask_app, environs[:warmup])
        cpu = time.process_time()
        codes = _call(flask_app, environs[warmup:])
        costs[name] = (time.process_time() - cpu) / measured * 1e6
        if set(codes) != {200}:
            raise RuntimeError(f"the empty view answered {dict(codes)}")
    print(
        f"in-process, an empty view: bare Flask {costs['bare']:.0f} µs of CPU, "
        f"behind the app's request hooks {costs['hooked']:.0f} µs"
    )


@csrf.exempt
def _empty():
    return "", 200


def _environ(target, form, headers, path=STATUS_WEBHOOK_PATH):
    builder = EnvironBuilder(
        path=path,
        base_url=target.removesuffix(STATUS_WEBHOOK_PATH),
        method="POST",
        data=form,
        headers=headers,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    return environ, environ["wsgi.input"].read()


def _call(app, environs):
    """Each request through the app as a WSGI server would; the answers."""
    codes = Counter()

    def start_response(status, headers, exc_info=None):
        codes[int(status[:3])] += 1

    for environ, body in environs:
        response = app.wsgi_app(
            {**environ, "wsgi.input": io.BytesIO(body)}, start_response
        )
        for _chunk in response:
            pass
        response.close()
    return codes


def _log_to_devnull():
    """As in production, INFO lines are formatted and written: here to /dev/null."""
    package_logger = logging.getLogger("dashboard")
    package_logger.setLevel(logging.INFO)
    package_logger.propagate = False  # the migrations gave the root a console
    devnull = open(os.devnull, "w")  # noqa: SIM115  (the caller closes it)
    for handler in package_logger.handlers:
        handler.setStream(devnull)
    return devnull


def _print_cpu_by_library(stats):
    """Own CPU time of every function, summed by the library it belongs to."""
    by_library = Counter()
    for (filename, _line, _name), (_, _, own, _, _) in stats.stats.items():
        by_library[_library_of(filename)] += own
    total = sum(by_library.values())
    print("CPU by library (own time):")
    for library, seconds in by_library.most_common(10):
        print(f"  {library:<22} {seconds / total:6.1%}")


def _library_of(filename):
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if filename.startswith(str(PROJECT_ROOT)):
        return Path(filename).relative_to(PROJECT_ROOT).parts[0]
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    return "stdlib: " + Path(filename).stem


if __name__ == "__main__":
    main()
