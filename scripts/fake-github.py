#!/usr/bin/env python3
"""A fake GitHub REST API over TLS for scripts/image-test.sh.

It answers the two calls `hassec action` makes after a pull-request scan whose diff
is local: the code-scanning SARIF upload, which it checks as GitHub would
(method, path, token, gzip+base64 SARIF from hassec, commit and ref), and the
upload's processing status. Every request, and every failed TLS handshake, is
recorded in RECORD/requests.jsonl (the token never is), and the SARIF of an
accepted upload in RECORD/uploads/upload-N.sarif.

It listens on 127.0.0.1 only, writes the port it got to --port-file once it is
ready, and stops by itself after --deadline seconds or --max-requests connections.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import gzip
import http.server
import json
import pathlib
import re
import ssl
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--port-file", required=True, type=pathlib.Path)
    parser.add_argument("--record", required=True, type=pathlib.Path, help="directory for what was received")
    parser.add_argument("--repo", required=True, help="owner/name")
    parser.add_argument("--token", required=True)
    parser.add_argument("--sha", required=True, help="the commit_sha an upload must carry")
    parser.add_argument("--ref", required=True, help="the ref an upload must carry")
    parser.add_argument("--checkout-uri", required=True)
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds until it stops")
    parser.add_argument("--max-requests", type=int, default=50, help="connections until it stops")
    return parser.parse_args()


def check_upload(args: argparse.Namespace, body: bytes) -> tuple[list[str], dict | None]:
    """What GitHub would refuse in an upload's body, and the decoded SARIF."""
    try:
        upload = json.loads(body)
    except ValueError:
        return ["the body is not JSON"], None
    if not isinstance(upload, dict):
        return ["the body is not a JSON object"], None
    problems = []
    expected = {
        "commit_sha": args.sha,
        "ref": args.ref,
        "tool_name": "hassec",
        "checkout_uri": args.checkout_uri,
    }
    for field, value in expected.items():
        if upload.get(field) != value:
            problems.append(f"{field} is {upload.get(field)!r}, expected {value!r}")
    try:
        datetime.datetime.fromisoformat(str(upload.get("started_at")).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"started_at {upload.get('started_at')!r} is not RFC 3339")
    sarif = None
    try:
        sarif = json.loads(gzip.decompress(base64.b64decode(upload.get("sarif", ""), validate=True)))
    except (binascii.Error, OSError, EOFError, ValueError, TypeError):
        problems.append("sarif is not gzipped, base64-encoded JSON")
    if sarif is not None:
        runs = sarif.get("runs") or [{}]
        if sarif.get("version") != "2.1.0" or runs[0].get("tool", {}).get("driver", {}).get("name") != "hassec":
            problems.append("sarif is not SARIF 2.1.0 from hassec")
    return problems, sarif


def main() -> None:
    args = parse_args()
    args.record.mkdir(parents=True, exist_ok=True)
    log = args.record / "requests.jsonl"
    uploads = args.record / "uploads"
    uploads.mkdir(exist_ok=True)
    base = f"/repos/{args.repo}/code-scanning/sarifs"
    status_path = re.compile(re.escape(base) + r"/(upload-\d+)")
    accepted: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "fake-github"

        def log_message(self, format: str, *values: object) -> None:  # noqa: A002
            pass  # everything is in requests.jsonl

        def answer(self, status: int, body: dict, problems: list[str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            record = {
                "method": self.command,
                "path": self.path,
                "status": status,
                "tls": self.connection.version(),
                "problems": problems or [],
            }
            with log.open("a") as out:
                out.write(json.dumps(record) + "\n")

        def authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {args.token}":
                return True
            self.answer(401, {"message": "Bad credentials"}, ["bad or missing Authorization header"])
            return False

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != base:
                self.answer(404, {"message": "Not Found"}, [f"no such route: POST {self.path}"])
                return
            if not self.authorized():
                return
            problems, sarif = check_upload(args, body)
            if problems:
                self.answer(422, {"message": "; ".join(problems)}, problems)
                return
            upload_id = f"upload-{len(accepted) + 1}"
            accepted.append(upload_id)
            (uploads / f"{upload_id}.sarif").write_text(json.dumps(sarif, indent=1))
            self.answer(202, {"id": upload_id, "url": f"https://127.0.0.1{base}/{upload_id}"})

        def do_GET(self) -> None:  # noqa: N802
            match = status_path.fullmatch(self.path)
            if not match or match.group(1) not in accepted:
                self.answer(404, {"message": "Not Found"}, [f"no such route: GET {self.path}"])
                return
            if self.authorized():
                self.answer(200, {"processing_status": "complete"})

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    connections = 0

    class Server(http.server.HTTPServer):
        """Plain accept, then the TLS handshake with a timeout, one connection at
        a time: a client that fails the handshake (one that does not trust the
        certificate) or never speaks is recorded and cannot hold the loop."""

        def get_request(self):  # noqa: ANN202
            sock, address = self.socket.accept()
            sock.settimeout(10)
            return sock, address

        def finish_request(self, request, client_address) -> None:  # noqa: ANN001
            nonlocal connections
            connections += 1
            try:
                tls = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as error:
                with log.open("a") as out:
                    out.write(json.dumps({"method": None, "path": None, "status": None, "tls": None,
                                          "problems": [f"TLS handshake failed: {error}"]}) + "\n")
                return
            try:
                self.RequestHandlerClass(tls, client_address, self)
            finally:
                tls.close()

    server = Server(("127.0.0.1", 0), Handler)
    server.timeout = 0.5
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.rename(args.port_file)
    stop = time.monotonic() + args.deadline
    while time.monotonic() < stop and connections < args.max_requests:
        server.handle_request()
    server.server_close()


if __name__ == "__main__":
    main()
