"""The shop's web front end (``python -m shop.web --port PORT``): a Flask app.

``GET /`` greets with the ``GREETING`` of the pod's image and names the pod
that answered; ``GET /healthz`` is the readiness probe's.
"""

import argparse
import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return f"{os.environ.get('GREETING', 'hello')} from {os.environ.get('POD_NAME', 'the shop')}\n"


@app.get("/healthz")
def healthz():
    return "ok\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="the shop's web front end")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args(argv)
    app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
