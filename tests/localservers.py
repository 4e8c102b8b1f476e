"""Loopback stand-ins for the archives, for tests: a SAS-like file server and a TAP/UWS service.

Both listen on 127.0.0.1 (a free port), run in a daemon thread, record every request, and are
context managers::

    with SASServer(root) as sas:            # serves the files below root
        sas.faults["/dr14/.../x.fits"] = ["drop", "500"]   # one fault per request, in order
        ...                                 # sas.url, sas.requests

    with TAPServer(responder) as tap:       # responder(query, uploads) -> astropy Table
        ...                                 # tap.url (= TAP URL), tap.submissions, tap.requests

SAS faults: ``"drop"`` (send headers and half the body, then close the connection), ``"500"``,
``"503"``, ``"404"``, ``"corrupt"`` (the right length of zero bytes), ``"short"`` (a
Content-Length that is too small: the body is cut), ``"ignore_range"`` (answer 200 with the whole
file even when a Range was asked).

TAP modes (``TAPServer(..., mode=...)``): ``"ok"``; ``"error"`` (the job ends in phase ERROR
with ``error_message``); ``"reject"`` (the POST is answered 400 with an error VOTable).
``fail_first=n`` answers the first n job submissions with 503.
"""

import gzip
import io
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from astropy.table import Table


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a fault-injected drop is not an error here
        pass


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread."""

    handler_class: type

    def __init__(self):
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    def __enter__(self):
        owner = self

        class Handler(self.handler_class):
            server_owner = owner

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def record(self, **entry) -> None:
        with self._lock:
            self.requests.append(entry)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def send_body(self, status: int, body: bytes, content_type: str = "text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _SASHandler(_QuietHandler):
    server_owner: "SASServer"

    def do_GET(self):
        owner = self.server_owner
        path = urlsplit(self.path).path
        rng = self.headers.get("Range")
        with owner._lock:
            queue = owner.faults.get(path) or []
            fault = queue.pop(0) if queue else None
        owner.record(method="GET", path=path, range=rng, fault=fault)
        if fault in ("500", "503"):
            return self.send_body(int(fault), b"server error")
        file = owner.root / path.lstrip("/")
        if fault == "404" or not file.is_file():
            return self.send_body(404, b"not found")
        data = file.read_bytes()
        if fault == "corrupt":
            data = bytes(len(data))
        status, headers, body = 200, [("Accept-Ranges", "bytes")], data
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and fault != "ignore_range":
            start = int(m.group(1))
            if start >= len(data):
                return self.send_body(416, b"", headers=[("Content-Range", f"bytes */{len(data)}")])
            status, body = 206, data[start:]
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
        if fault == "short":
            return self.send_body(status, body[: len(body) // 2], "application/fits", headers)
        if fault == "drop":
            self.send_response(status)
            self.send_header("Content-Type", "application/fits")
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_body(status, body, "application/fits", headers)


class SASServer(_Server):
    """Serve the files below ``root`` at ``url`` (a SAS base URL), with injectable faults."""

    handler_class = _SASHandler

    def __init__(self, root):
        super().__init__()
        self.root = Path(root)
        self.faults: dict[str, list[str]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gets(self, path: str | None = None) -> list[dict]:
        """The GET requests received (for one URL path, if given)."""
        return [r for r in self.requests if r["method"] == "GET" and (path is None or r["path"] == path)]


def error_votable(message: str) -> bytes:
    """A TAP error document: a VOTable whose QUERY_STATUS is ERROR."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        '<RESOURCE type="results">\n'
        f'<INFO name="QUERY_STATUS" value="ERROR">{message}</INFO>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    ).encode()


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a multipart/form-data body into (fields, files) by part name."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    fields, files = {}, {}
    for part in body.split(b"--" + boundary):
        if not part.strip() or part.strip() == b"--":
            continue
        head, _, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        disposition = re.search(rb"Content-Disposition:[^\r\n]*", head, re.I).group(0).decode()
        name = re.search(r'\bname="([^"]*)"', disposition).group(1)
        if "filename=" in disposition:
            files[name] = content
        else:
            fields[name] = content.decode()
    return fields, files


class _TAPHandler(_QuietHandler):
    server_owner: "TAPServer"

    def _route(self):
        owner = self.server_owner
        path = urlsplit(self.path).path
        if not path.startswith(owner.context + "/"):
            return None, None
        rest = path[len(owner.context) + 1:].strip("/").split("/")
        return rest[0], rest[1:]

    def do_POST(self):
        owner = self.server_owner
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        endpoint, rest = self._route()
        owner.record(method="POST", path=urlsplit(self.path).path)
        if endpoint == "async" and not rest:
            return self._submit(body)
        if endpoint == "sync" and not rest:
            job = self._create_job(body)
            if job is None:
                return
            if job["phase"] == "ERROR":
                return self.send_body(400, error_votable(job["error"]), "application/x-votable+xml")
            return self.send_body(200, job["result"], "application/x-votable+xml")
        if endpoint == "async" and len(rest) == 2 and rest[1] == "phase":
            job = owner.jobs.get(rest[0])
            if job is None:
                return self.send_body(404, b"no such job")
            return self.send_body(303, b"", headers=[("Location", f"{owner.url}/async/{rest[0]}")])
        self.send_body(404, b"unknown endpoint")

    def _create_job(self, body: bytes):
        owner = self.server_owner
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            fields, files = parse_multipart(body, ctype)
        else:
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            files = {}
        uploads = {}
        for spec in filter(None, fields.get("UPLOAD", "").split(";")):
            table_name, _, ref = spec.partition(",")
            key = ref.removeprefix("param:")
            uploads[table_name] = Table.read(io.BytesIO(files[key]), format="votable")
        with owner._lock:
            owner.submissions.append({"fields": fields, "uploads": uploads})
            if owner.fail_first > 0:
                owner.fail_first -= 1
                self.send_body(503, b"service unavailable")
                return None
        if owner.mode == "reject":
            self.send_body(400, error_votable(owner.error_message), "application/x-votable+xml")
            return None
        job = {"phase": "EXECUTING", "polls": 0, "result": None, "error": None}
        if owner.mode == "error":
            job.update(phase="ERROR", error=owner.error_message)
        else:
            table = owner.responder(fields.get("QUERY", ""), uploads)
            buf = io.BytesIO()
            if owner.result_format == "binary2_gzip":   # as the Gaia Archive returns 'votable' results
                from astropy.io.votable import from_table
                with gzip.GzipFile(fileobj=buf, mode="wb") as fh:
                    from_table(table).to_xml(fh, tabledata_format="binary2")
            else:
                table.write(buf, format="votable")
            job["result"] = buf.getvalue()
        return job

    def _submit(self, body: bytes):
        owner = self.server_owner
        job = self._create_job(body)
        if job is None:
            return
        job_id = uuid.uuid4().hex[:12]
        with owner._lock:
            owner.jobs[job_id] = job
        self.send_body(303, b"", headers=[("Location", f"{owner.url}/async/{job_id}")])

    def do_GET(self):
        owner = self.server_owner
        endpoint, rest = self._route()
        owner.record(method="GET", path=urlsplit(self.path).path)
        if endpoint != "async" or not rest:
            return self.send_body(404, b"unknown endpoint")
        job = owner.jobs.get(rest[0])
        if job is None:
            return self.send_body(404, b"no such job")
        what = "/".join(rest[1:])
        if what == "phase":
            with owner._lock:
                job["polls"] += 1
                # One EXECUTING answer first, so the client really polls.
                if job["phase"] == "EXECUTING" and job["polls"] > 1:
                    job["phase"] = "COMPLETED"
                phase = job["phase"]
            return self.send_body(200, phase.encode())
        if what == "results/result":
            if job["phase"] == "ERROR":
                return self.send_body(200, error_votable(job["error"]), "application/x-votable+xml")
            if job["phase"] != "COMPLETED":
                return self.send_body(404, b"job not finished")
            return self.send_body(200, job["result"], "application/x-votable+xml")
        if what == "error":
            return self.send_body(200, (job["error"] or "").encode())
        self.send_body(404, b"unknown endpoint")


class TAPServer(_Server):
    """A minimal TAP service (async UWS jobs with table upload, and sync) at ``url``."""

    handler_class = _TAPHandler

    def __init__(self, responder, *, context: str = "/tap-server/tap", mode: str = "ok", fail_first: int = 0,
                 error_message: str = "Error in query: Table 'gaiadr2.nosuch' not found",
                 result_format: str = "votable"):
        super().__init__()
        self.result_format = result_format   # "votable" (TABLEDATA) or "binary2_gzip"
        self.responder = responder
        self.context = context.rstrip("/")
        self.mode = mode
        self.fail_first = fail_first
        self.error_message = error_message
        self.jobs: dict[str, dict] = {}
        self.submissions: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.context}"
