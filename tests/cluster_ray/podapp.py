"""A pod for the Ray tests: an HTTP server on 127.0.0.1:$PORT ($BIND instead of 127.0.0.1 if set).

``GET /`` answers ``POD_NAME GREETING``; ``GET /healthz`` answers 200, or 503
while a file ``unready`` is in the pod's working directory.
"""

import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            code, body = (503, b"unready") if os.path.exists("unready") else (200, b"ok")
        else:
            code = 200
            body = f"{os.environ['POD_NAME']} {os.environ.get('GREETING', '')}".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    print("serving on", os.environ["PORT"], flush=True)
    http.server.ThreadingHTTPServer((os.environ.get("BIND", "127.0.0.1"), int(os.environ["PORT"])),
                                    Handler).serve_forever()
