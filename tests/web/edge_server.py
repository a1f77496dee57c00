"""A real eventlet server over the monitor's real web stack, with two faults built in, for the
edge tests: ``GET /boom`` raises inside a Flask route, ``GET /boom-under-flask`` raises below
Flask, inside the edge, where Socket.IO and eventlet's websocket code run.

``python -m tests.web.edge_server [serve options]`` prints ``monitor: http://127.0.0.1:PORT/`` as
the monitor does, so ``tests.monitor_process.MonitorProcess(..., module=...)`` runs it. The engine
is real but has no feed: these tests are about the web edge, not market data. The options are
``serve``'s own, parsed by the same code.
"""
from __future__ import annotations

import sys

from app import green

SECRET = "internal detail /srv/secret/path.py"
MODULE = "tests.web.edge_server"


def main(argv: list[str]) -> int:
    green.monkey_patch()
    from app.cli import build_parser
    from app.commands.serve import build_config
    from app.engine import Engine
    from app.web import create_app
    from tests.web.conftest import instrument

    config = build_config(build_parser().parse_args(["serve", "--source", "sim", *argv]))
    engine = Engine(config, {s: instrument(s) for s in config.symbols}, source="sim")
    engine.set_streaming(True)
    app = create_app(config, engine)

    @app.get("/boom")
    def boom():
        raise RuntimeError(SECRET)

    edge = app.wsgi_app
    below = edge.wsgi_app

    def faulty(environ, start_response):
        if environ.get("PATH_INFO") == "/boom-under-flask":
            raise RuntimeError(SECRET)
        return below(environ, start_response)

    edge.wsgi_app = faulty
    listener = green.listen(config.host, config.port)
    print(f"monitor: http://{config.host}:{listener.getsockname()[1]}/", flush=True)
    try:
        green.serve_wsgi(listener, app, config.max_clients)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
