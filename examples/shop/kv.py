"""The shop's key-value store member (``python -m shop.kv --id N``): a tiny TCP line protocol.

``SET key value`` and ``GET key``, one per line, on 127.0.0.1:$PORT.
"""

import argparse
import os
import socketserver

DATA: dict = {}


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for raw in self.rfile:
            parts = raw.decode().split(maxsplit=2)
            if len(parts) == 3 and parts[0] == "SET":
                DATA[parts[1]] = parts[2].rstrip("\n")
                self.wfile.write(b"OK\n")
            elif len(parts) == 2 and parts[0] == "GET":
                self.wfile.write((DATA.get(parts[1], "") + "\n").encode())
            else:
                self.wfile.write(b"ERR expected SET key value or GET key\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="a member of the shop's key-value store")
    p.add_argument("--id", default=os.environ.get("POD_ORDINAL", "0"))
    args = p.parse_args(argv)
    print(f"kv member {args.id} on port {os.environ.get('PORT')}", flush=True)
    socketserver.ThreadingTCPServer(("127.0.0.1", int(os.environ.get("PORT", "7000"))), Handler).serve_forever()


if __name__ == "__main__":
    main()
