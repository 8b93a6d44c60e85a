#!/usr/bin/env python3
"""
fake-supabase: an HTTP test server for vault's Supabase Storage and Edge
Functions code.  Python 3 standard library only.

It implements, from Supabase's published Storage API (supabase/storage)
and Management API, the endpoints vault uses, with their real status
codes and error bodies, so the client is tested against the API and not
against its own expectations:

  Storage, under /storage/v1 (headers `apikey: <key>` and
  `Authorization: Bearer <key>`; the gateway answers 401 without a valid
  apikey, Storage itself renders its errors as HTTP 400 with
  {"statusCode": "<real status>", "code", "error", "message"}, and only
  internal errors as HTTP 500):
    GET    /bucket                      list buckets
    GET    /bucket/{id}                 one bucket
    POST   /bucket                      create {name, id?, public?, file_size_limit?, allowed_mime_types?}
    PUT    /bucket/{id}                 update {public?, file_size_limit?, allowed_mime_types?}
    DELETE /bucket/{id}                 delete (must be empty)
    POST   /bucket/{id}/empty           delete every object
    POST   /object/list/{bucket}        {prefix, limit, offset, sortBy, search}: one level
                                        at a time; folders have id/metadata null; a
                                        bucket that does not exist lists as 200 [] (the
                                        listing is a SQL function over storage.objects)
    GET    /object/authenticated/{bucket}/{path}   download (Range supported)
    GET    /object/{bucket}/{path}                 same (deprecated alias)
    GET    /object/public/{bucket}/{path}          public buckets, no auth
    HEAD   /object/authenticated/{bucket}/{path}   headers only
    GET    /object/info/authenticated/{bucket}/{path} (and /object/info/...)
    POST   /object/{bucket}/{path}      create; `x-upsert: true` to overwrite
    PUT    /object/{bucket}/{path}      create or overwrite (upsert)
                                        body: raw bytes (Content-Type, Cache-Control,
                                        x-metadata = base64 JSON) or multipart/form-data
    DELETE /object/{bucket}             {prefixes: [...]} bulk delete, 1..1000 names
    DELETE /object/{bucket}/{path}      one object

  Object metadata as Storage reports it: size, mimetype, cacheControl,
  eTag (quoted hex MD5, like S3), lastModified, contentLength,
  httpStatusCode.  As in Storage v1.22 (the version vault was measured
  against), a listing entry is a storage.search() row (name, id,
  updated_at, created_at, last_accessed_at, metadata) without the user
  metadata, which only /object/info gives; --list-user-metadata adds the
  "user_metadata" member newer servers put in listings.  Every upload
  (so every restore) gives the object a new lastModified.

  Management API, under /v1 (header `Authorization: Bearer <token>`;
  60 requests a minute per token, then 429 with Retry-After):
    GET  /v1/projects/{ref}/functions
    GET  /v1/projects/{ref}/functions/{slug}
    GET  /v1/projects/{ref}/functions/{slug}/body   with Accept: multipart/form-data:
         a "metadata" part (JSON) plus one "file" part per source file, named
         by its deployed path /tmp/user_fn_<ref>_<id>_<version>/source/<file>
    POST /v1/projects/{ref}/functions/deploy?slug=S  multipart: "metadata" part
         (JSON: entrypoint_path, name?, verify_jwt?, import_map_path?) and "file" parts
    DELETE /v1/projects/{ref}/functions/{slug}       200, empty body; 404 for an
         unknown slug

Test control (no auth):
    POST /__control  {"op": ...}
      fault        {path: regex (searched in the raw request path), method?,
                    kind: "503"|"500"|"429"|"slow"|"stall"|"reset"|"short",
                    count: N (-1 = forever), retry_after?, delay?, fraction?}
                   503/500/429 answer instead of the endpoint (429 and 503 carry
                   Retry-After); slow waits `delay` seconds before answering;
                   stall sends the headers and `fraction` of the body, then
                   waits `delay` seconds before the rest; reset sends
                   `fraction` of the body then resets the connection (RST);
                   short sends `fraction` of the body (less than its
                   Content-Length) and closes cleanly.
      clear_faults
      reset_stats
      stats        -> {"routes": {route: n}, "total": n, "faulted": n, "bytes_out": n,
                       "max_concurrent": {route: n}}  (requests of a route being
                       answered at the same time, at most, faults and delays included)
      state        -> every bucket and object (name, size, eTag, ...) and function
      rate_limit   {limit, window}  Management API limit per token
      key_policy   {policy: "strict"|"permissive"}
      put_objects  {bucket, objects: [{name, data | data_b64 | size+seed, mimetype?,
                    cacheControl?, metadata?}]}  bulk seeding (bucket created if missing)
      delete_all   every bucket, object and function
      objects_sql  -> text/plain: SQL that fills storage.buckets and storage.objects
                   (as Storage's own schema has them: metadata jsonb with eTag, size,
                   lastModified...) with what the server holds, so a test database
                   can play the project's database
    GET  /__control/stats, GET /__control/state

Key policy: "strict" is Storage v1.22's own object-name check (S3-safe
ASCII characters only: letters, digits, _ / ! - . * ' ( ) space & $ @ =
; : + , ?), applied where the real server applies it: on uploads and
wherever it looks an object up by name (download, HEAD, info), but not
on listings or deletes, so an object put there by other paths (put_objects
here; the S3 protocol or older versions there) is listed yet answers
every download and info with 400 InvalidKey, as "legacy" names with
non-ASCII characters, % or # do.  "permissive" (the default) accepts any
UTF-8 name without NUL everywhere, as newer Storage versions do, so tests
can round-trip the hostile names end users create.  Listing matches prefixes exactly (the real
server's SQL uses ILIKE, where % and _ in a prefix are wildcards; vault's
client does not rely on either behaviour).

Usage: fake-supabase.py [--seed DIR] [--service-key K] [--access-token T]
                        [--project-ref REF] [--rate-limit N] [--rate-window S]
                        [--key-policy strict|permissive] [--list-user-metadata]
Binds 127.0.0.1 on a free port and prints the port number on stdout when
ready.  Seed directory layout:
    DIR/storage/<bucket>/<path...>        files become objects
    DIR/storage/<bucket>.bucket.json      optional {public, file_size_limit, allowed_mime_types}
    DIR/objects.jsonl                     optional, one object per line:
                                          {bucket, name, data | data_b64, mimetype?, cacheControl?, metadata?}
    DIR/functions/<slug>/<files...>       a function's source
    DIR/functions/<slug>.function.json    optional {name, verify_jwt, entrypoint_path, import_map_path}
"""

import argparse
import base64
import email.utils
import hashlib
import json
import mimetypes
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# JavaScript's \w (no u flag) is ASCII only: re.ASCII
STRICT_KEY = re.compile(r"^(\w|/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$", re.ASCII)
BUCKET_NAME = re.compile(r"^(\w|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$", re.ASCII)
DELETE_LIMIT = 1000
CHUNK = 64 * 1024


def iso_now(t=None):
    t = time.time() if t is None else t
    ms = int((t - int(t)) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % ms


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


class ApiError(Exception):
    """An error the way a Supabase service renders it."""

    def __init__(self, http_status, body, headers=None):
        super().__init__(body.get("message", ""))
        self.http_status = http_status
        self.body = body
        self.headers = headers or {}


def storage_error(status, code, message, error=None):
    # StorageBackendError.render(): HTTP 500 stays 500, everything else
    # goes out as 400 with the real status in the body.
    body = {"statusCode": str(status), "code": code,
            "error": error or code, "message": message}
    return ApiError(500 if status == 500 else 400, body)


def no_such_key():
    return storage_error(404, "NoSuchKey", "Object not found", "not_found")


def no_such_bucket():
    return storage_error(404, "NoSuchBucket", "Bucket not found", "Bucket not found")


def mgmt_error(status, message, headers=None):
    return ApiError(status, {"message": message}, headers)


class Obj:
    def __init__(self, name, data, mimetype, cache_control, user_md):
        now = time.time()
        self.id = str(uuid.uuid4())
        self.name = name
        self.created = now
        self.version = str(uuid.uuid4())
        self.set(data, mimetype, cache_control, user_md, now)

    def set(self, data, mimetype, cache_control, user_md, now=None):
        now = time.time() if now is None else now
        self.data = bytes(data)
        self.mimetype = mimetype or "application/octet-stream"
        self.cache_control = cache_control or "no-cache"
        self.user_md = user_md
        self.etag = '"%s"' % hashlib.md5(self.data).hexdigest()
        self.updated = now
        self.accessed = now
        self.version = str(uuid.uuid4())

    def metadata(self):
        return {"eTag": self.etag, "size": len(self.data),
                "mimetype": self.mimetype, "cacheControl": self.cache_control,
                "lastModified": iso_now(self.updated),
                "contentLength": len(self.data), "httpStatusCode": 200}

    def row(self, bucket):
        return {"name": self.name, "bucket_id": bucket, "owner": "",
                "id": self.id, "updated_at": iso_now(self.updated),
                "created_at": iso_now(self.created),
                "last_accessed_at": iso_now(self.accessed),
                "metadata": self.metadata()}


class Bucket:
    def __init__(self, bid, name, public, size_limit, mimes):
        now = time.time()
        self.id, self.name = bid, name
        self.public = bool(public)
        self.file_size_limit = size_limit
        self.allowed_mime_types = mimes
        self.created = self.updated = now
        self.objects = {}

    def json(self):
        return {"id": self.id, "name": self.name, "owner": "",
                "public": self.public, "type": "STANDARD",
                "file_size_limit": self.file_size_limit,
                "allowed_mime_types": self.allowed_mime_types,
                "created_at": iso_now(self.created),
                "updated_at": iso_now(self.updated)}


class Function:
    def __init__(self, slug):
        self.id = str(uuid.uuid4())
        self.slug = slug
        self.name = slug
        self.version = 0
        self.verify_jwt = True
        self.entrypoint = "index.ts"
        self.import_map = None
        self.files = {}
        self.created = int(time.time() * 1000)
        self.updated = self.created

    def deploy_dir(self, ref):
        return "/tmp/user_fn_%s_%s_%d/source/" % (ref, self.id, self.version)

    def json(self, ref):
        d = self.deploy_dir(ref)
        return {"id": self.id, "slug": self.slug, "name": self.name,
                "status": "ACTIVE", "version": self.version,
                "created_at": self.created, "updated_at": self.updated,
                "verify_jwt": self.verify_jwt,
                "import_map": self.import_map is not None,
                "entrypoint_path": "file://" + d + self.entrypoint,
                "import_map_path": ("file://" + d + self.import_map)
                if self.import_map else None,
                "ezbr_sha256": hashlib.sha256(
                    b"".join(k.encode() + v for k, v in
                             sorted(self.files.items()))).hexdigest()}


class State:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.service_key = args.service_key
        self.access_token = args.access_token
        self.ref = args.project_ref
        self.key_policy = args.key_policy
        self.list_user_md = args.list_user_metadata
        self.rate_limit = args.rate_limit
        self.rate_window = args.rate_window
        self.rate_hits = {}
        self.buckets = {}
        self.functions = {}
        self.faults = []
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.routes = {}
            self.total = 0
            self.faulted = 0
            self.bytes_out = 0
            self.inflight = getattr(self, "inflight", {})
            # requests still being answered count on from where they are
            self.max_inflight = {r: n for r, n in self.inflight.items() if n}

    def count(self, route):
        with self.lock:
            self.routes[route] = self.routes.get(route, 0) + 1
            self.total += 1
            n = self.inflight.get(route, 0) + 1
            self.inflight[route] = n
            if n > self.max_inflight.get(route, 0):
                self.max_inflight[route] = n

    def done(self, route):
        with self.lock:
            self.inflight[route] = self.inflight.get(route, 1) - 1

    def check_key(self, name):
        if not name or "\0" in name or len(name.encode()) > 1024:
            raise storage_error(400, "InvalidKey", "Invalid key: %s" % name)
        if self.key_policy == "strict" and not STRICT_KEY.match(name):
            raise storage_error(400, "InvalidKey", "Invalid key: %s" % name)

    def find(self, bid, name, public=False):
        """ObjectStorage.findObject(): the key check, then the lookup."""
        if self.key_policy == "strict" and not STRICT_KEY.match(name):
            raise storage_error(400, "InvalidKey", "Invalid key: %s" % name)
        b = self.bucket(bid)
        if public and not b.public:
            raise no_such_bucket()
        o = b.objects.get(name)
        if o is None:
            raise no_such_key()
        return o

    def bucket(self, bid):
        b = self.buckets.get(bid)
        if b is None:
            raise no_such_bucket()
        return b

    def put(self, bid, name, data, mimetype, cache_control, user_md, upsert):
        with self.lock:
            b = self.bucket(bid)
            self.check_key(name)
            if b.file_size_limit is not None and len(data) > b.file_size_limit:
                raise storage_error(413, "EntityTooLarge",
                                    "The object exceeded the maximum allowed size",
                                    "Payload too large")
            if b.allowed_mime_types and not mime_allowed(mimetype, b.allowed_mime_types):
                raise storage_error(415, "InvalidMimeType",
                                    "mime type %s is not supported" % mimetype,
                                    "invalid_mime_type")
            o = b.objects.get(name)
            if o is not None and not upsert:
                raise storage_error(409, "KeyAlreadyExists",
                                    "The resource already exists", "Duplicate")
            if o is None:
                o = Obj(name, data, mimetype, cache_control, user_md)
                b.objects[name] = o
            else:
                o.set(data, mimetype, cache_control, user_md)
            return o

    def new_bucket(self, bid, name, public=False, size_limit=None, mimes=None):
        with self.lock:
            if not bid or len(bid) > 100 or not BUCKET_NAME.match(bid):
                raise storage_error(400, "InvalidBucketName", "Bucket name invalid",
                                    "Invalid Input")
            if bid in self.buckets:
                raise storage_error(409, "BucketAlreadyExists",
                                    "The resource already exists", "Duplicate")
            b = Bucket(bid, name, public, size_limit, mimes)
            self.buckets[bid] = b
            return b


def mime_allowed(mime, allowed):
    mime = (mime or "").split(";")[0].strip()
    for a in allowed:
        if a == mime or (a.endswith("/*") and mime.startswith(a[:-1])):
            return True
    return False


def parse_size_limit(v):
    """file_size_limit is a number of bytes or a string like "20MB"."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, int):
        return v if v > 0 else None
    m = re.match(r"^\s*(\d+)\s*(B|KB|MB|GB)?\s*$", str(v), re.I)
    if not m:
        raise ValueError
    mult = {"B": 1, "KB": 1024, "MB": 1 << 20, "GB": 1 << 30}[(m.group(2) or "B").upper()]
    return int(m.group(1)) * mult


# ---- multipart ----------------------------------------------------------

def parse_multipart(body, ctype):
    """Parses multipart/form-data into [(headers dict, data bytes)]."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not m:
        raise ValueError("no boundary")
    delim = b"--" + m.group(1).encode()
    parts = []
    pos = body.find(delim)
    if pos < 0:
        raise ValueError("no first boundary")
    pos += len(delim)
    while True:
        if body[pos:pos + 2] == b"--":
            return parts
        if body[pos:pos + 2] != b"\r\n":
            raise ValueError("bad boundary line")
        pos += 2
        hend = body.find(b"\r\n\r\n", pos)
        if hend < 0:
            raise ValueError("unterminated part headers")
        headers = {}
        for line in body[pos:hend].split(b"\r\n"):
            k, sep, v = line.decode("utf-8", "strict").partition(":")
            if not sep:
                raise ValueError("bad part header")
            headers[k.strip().lower()] = v.strip()
        nxt = body.find(b"\r\n" + delim, hend + 4)
        if nxt < 0:
            raise ValueError("unterminated part")
        parts.append((headers, body[hend + 4:nxt]))
        pos = nxt + 2 + len(delim)


def disposition(headers):
    """(name, filename) from a Content-Disposition header (RFC 7578)."""
    cd = headers.get("content-disposition", "")
    out = {}
    for m in re.finditer(r';\s*([\w*]+)=("((?:[^"\\]|\\.)*)"|[^;]*)', cd):
        key = m.group(1).lower()
        val = m.group(3) if m.group(3) is not None else m.group(2).strip()
        if m.group(3) is not None:
            val = re.sub(r'\\(.)', r'\1', val)
        if key == "filename*":
            enc, _, rest = val.partition("''")
            key, val = "filename", urllib.parse.unquote(rest, encoding=enc or "utf-8")
        out[key] = val
    return out.get("name"), out.get("filename")


def build_multipart(parts):
    boundary = "----fakesupabase" + uuid.uuid4().hex
    out = []
    for headers, data in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        for k, v in headers:
            out.append(("%s: %s\r\n" % (k, v)).encode())
        out.append(b"\r\n" + data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def quote_filename(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def route_of(method, path):
    """The endpoint a request is counted under (before any fault)."""
    if path.startswith("/storage/v1/"):
        p = path[len("/storage/v1"):]
        segs = p.split("/")
        if segs[1:2] == ["bucket"]:
            rest = [x for x in segs[2:]]
            if rest in ([], [""]):
                return {"GET": "storage.bucket.list",
                        "POST": "storage.bucket.create"}.get(method, "storage.unknown")
            if len(rest) == 1:
                return {"GET": "storage.bucket.get", "PUT": "storage.bucket.update",
                        "DELETE": "storage.bucket.delete"}.get(method, "storage.unknown")
            if len(rest) == 2 and rest[1] == "empty" and method == "POST":
                return "storage.bucket.empty"
            return "storage.unknown"
        if segs[1:2] == ["object"]:
            rest = p[len("/object"):]
            if method == "POST" and rest.startswith("/list/"):
                return "storage.object.list"
            if method == "GET" and rest.startswith("/info/"):
                return "storage.object.info"
            if method == "GET":
                return "storage.object.get"
            if method == "HEAD":
                return "storage.object.head"
            if method == "POST":
                return "storage.object.create"
            if method == "PUT":
                return "storage.object.update"
            if method == "DELETE":
                return "storage.object.delete" if "/" in rest[1:] \
                    else "storage.object.delete_many"
        return "storage.unknown"
    segs = path.split("/")[1:]
    if len(segs) >= 4 and segs[:2] == ["v1", "projects"] and segs[3] == "functions":
        if method == "GET" and len(segs) == 4:
            return "mgmt.functions.list"
        if method == "POST" and len(segs) == 5 and segs[4] == "deploy":
            return "mgmt.functions.deploy"
        if method == "GET" and len(segs) == 5:
            return "mgmt.functions.get"
        if method == "GET" and len(segs) == 6 and segs[5] == "body":
            return "mgmt.functions.body"
        if method == "DELETE" and len(segs) == 5:
            return "mgmt.functions.delete"
    return "mgmt.unknown" if path.startswith("/v1/") else "unknown"


# ---- the handler ---------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-supabase/1"
    state = None  # set in main

    # Headers and body go out in separate writes: without TCP_NODELAY a
    # keep-alive client waits for the delayed ACK (~40 ms) on every
    # small response, which would make the tests measure Nagle.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_SUPABASE_LOG"):
            sys.stderr.write("fake-supabase: " + (fmt % args) + "\n")

    # -- plumbing --

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            out = []
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(out)
                out.append(self.rfile.read(size))
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def active_fault(self):
        st = self.state
        with st.lock:
            for f in st.faults:
                if f["count"] == 0:
                    continue
                if f.get("method") and f["method"] != self.command:
                    continue
                if not re.search(f["path"], self.path):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                st.faulted += 1
                return f
        return None

    def send(self, status, body=b"", ctype="application/json; charset=utf-8",
             headers=None, head_only=False):
        fault = self.fault
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if head_only or self.command == "HEAD":
            return
        kind = fault["kind"] if fault else None
        if kind in ("reset", "short", "stall") and len(body) > 0:
            frac = float(fault.get("fraction", 0.5))
            cut = max(0, min(len(body) - 1, int(len(body) * frac)))
            self.write_chunks(body[:cut])
            self.wfile.flush()
            if kind == "stall":
                time.sleep(float(fault.get("delay", 5)))
                self.write_chunks(body[cut:])
                return
            self.close_connection = True
            if kind == "reset":
                # SO_LINGER 0: close() sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            self.connection.close()
            self.wfile = _Sink()
            return
        self.write_chunks(body)

    def write_chunks(self, data):
        for i in range(0, len(data), CHUNK):
            self.wfile.write(data[i:i + CHUNK])
            with self.state.lock:
                self.state.bytes_out += len(data[i:i + CHUNK])

    def fail(self, e):
        hdrs = dict(e.headers)
        self.send(e.http_status, e.body, headers=hdrs)

    def dispatch(self):
        self.fault = None
        st = self.state
        raw = self.path
        path = raw.split("?", 1)[0]
        if path == "/__control" or path.startswith("/__control/"):
            return self.control(path)
        route = route_of(self.command, path)
        st.count(route)
        try:
            self.answer(path, raw)
        finally:
            st.done(route)

    def answer(self, path, raw):
        st = self.state
        self.fault = self.active_fault()
        f = self.fault
        if f:
            if f["kind"] in ("503", "500", "429"):
                try:
                    self.read_body()
                except Exception:
                    pass
                code = int(f["kind"])
                hdrs = {}
                if code in (429, 503):
                    hdrs["Retry-After"] = str(f.get("retry_after", 1))
                if path.startswith("/storage/"):
                    body = {"statusCode": str(code),
                            "code": "SlowDown" if code == 429 else "InternalError",
                            "error": "Too Many Requests" if code == 429 else "Service Unavailable",
                            "message": "injected fault"}
                else:
                    body = {"message": "injected fault"}
                self.fault = None
                self.close_connection = True
                return self.send(code, body, headers=hdrs)
            if f["kind"] == "slow":
                time.sleep(float(f.get("delay", 2)))
        try:
            if path.startswith("/storage/v1/"):
                self.storage(path[len("/storage/v1"):], raw)
            elif path.startswith("/v1/"):
                self.management(path, raw)
            else:
                self.read_body()
                self.send(404, {"message": "Route %s:%s not found" % (self.command, path),
                                "error": "Not Found", "statusCode": 404})
        except ApiError as e:
            self.fail(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here: answer like Storage's handler
            self.close_connection = True
            sys.stderr.write("fake-supabase: internal error: %r\n" % (e,))
            self.send(500, {"statusCode": "500", "code": "InternalError",
                            "error": "Internal", "message": "Internal Server Error"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = dispatch

    # -- control --

    def control(self, path):
        st = self.state
        body = self.read_body()
        if self.command == "GET":
            op = {"op": path[len("/__control/"):]} if path != "/__control" else {"op": "stats"}
        else:
            try:
                op = json.loads(body or b"{}")
            except ValueError:
                return self.send(400, {"error": "bad json"})
        name = op.get("op")
        with st.lock:
            if name == "fault":
                st.faults.append({"path": op.get("path", ""), "method": op.get("method"),
                                  "kind": str(op["kind"]), "count": int(op.get("count", 1)),
                                  "retry_after": op.get("retry_after", 1),
                                  "delay": op.get("delay", 2),
                                  "fraction": op.get("fraction", 0.5)})
                return self.send(200, {"ok": True})
            if name == "clear_faults":
                st.faults = []
                return self.send(200, {"ok": True})
            if name == "reset_stats":
                st.reset_stats()
                st.rate_hits = {}
                return self.send(200, {"ok": True})
            if name == "stats":
                return self.send(200, {"routes": st.routes, "total": st.total,
                                       "faulted": st.faulted, "bytes_out": st.bytes_out,
                                       "max_concurrent": st.max_inflight})
            if name == "objects_sql":
                return self.send(200, self.objects_sql().encode(),
                                 ctype="text/plain; charset=utf-8")
            if name == "state":
                return self.send(200, self.dump())
            if name == "rate_limit":
                st.rate_limit = int(op["limit"])
                st.rate_window = float(op.get("window", 60))
                st.rate_hits = {}
                return self.send(200, {"ok": True})
            if name == "key_policy":
                st.key_policy = op["policy"]
                return self.send(200, {"ok": True})
            if name == "delete_all":
                st.buckets = {}
                st.functions = {}
                return self.send(200, {"ok": True})
            if name == "put_objects":
                bid = op["bucket"]
                if bid not in st.buckets:
                    st.new_bucket(bid, bid)
                b = st.buckets[bid]
                for o in op.get("objects", []):
                    if "data_b64" in o:
                        data = base64.b64decode(o["data_b64"])
                    elif "size" in o:
                        rnd = random.Random(o.get("seed", o["name"]))
                        data = rnd.randbytes(int(o["size"]))
                    else:
                        data = o.get("data", "").encode()
                    obj = Obj(o["name"], data, o.get("mimetype"),
                              o.get("cacheControl"), o.get("metadata"))
                    b.objects[o["name"]] = obj
                return self.send(200, {"ok": True, "count": len(b.objects)})
        return self.send(400, {"error": "unknown op %r" % name})

    def objects_sql(self):
        """INSERTs of storage.buckets and storage.objects rows, as Storage
        keeps them (metadata jsonb; the user metadata in user_metadata)."""
        def lit(v):
            if v is None:
                return "NULL"
            if not isinstance(v, str):
                v = json.dumps(v)
            return "'" + v.replace("'", "''") + "'"
        st = self.state
        out = []
        for bid, b in st.buckets.items():
            out.append("INSERT INTO storage.buckets (id, name, public) VALUES (%s, %s, %s);"
                       % (lit(bid), lit(b.name), "true" if b.public else "false"))
            for n, o in b.objects.items():
                out.append("INSERT INTO storage.objects (id, bucket_id, name, metadata, "
                           "user_metadata, version, created_at, updated_at, "
                           "last_accessed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s);"
                           % (lit(o.id), lit(bid), lit(n), lit(o.metadata()), lit(o.user_md),
                              lit(o.version), lit(iso_now(o.created)),
                              lit(iso_now(o.updated)), lit(iso_now(o.accessed))))
        return "\n".join(out) + "\n"

    def dump(self):
        st = self.state
        out = {"buckets": {}, "functions": {}}
        for bid, b in st.buckets.items():
            d = b.json()
            d["objects"] = {n: {"size": len(o.data), "eTag": o.etag,
                                "mimetype": o.mimetype, "cacheControl": o.cache_control,
                                "metadata": o.user_md,
                                "lastModified": iso_now(o.updated),
                                "md5": hashlib.md5(o.data).hexdigest()}
                            for n, o in b.objects.items()}
            out["buckets"][bid] = d
        for slug, f in st.functions.items():
            d = f.json(st.ref)
            d["files"] = {k: v.decode("utf-8", "replace") for k, v in f.files.items()}
            out["functions"][slug] = d
        return out

    # -- storage --

    def auth_storage(self, public_ok=False):
        st = self.state
        apikey = self.headers.get("apikey")
        if public_ok and apikey is None and self.headers.get("Authorization") is None:
            return
        # The API gateway in front of every service checks the apikey first.
        if apikey is None:
            raise ApiError(401, {"message": "No API key found in request",
                                 "hint": "No `apikey` request header or url param was found."})
        if apikey != st.service_key:
            raise ApiError(401, {"message": "Invalid API key",
                                 "hint": "Double check your Supabase `anon` or `service_role` API key."})
        auth = self.headers.get("Authorization")
        if auth is None:
            raise storage_error(403, "AccessDenied",
                                "headers must have required property 'authorization'",
                                "Unauthorized")
        if not auth.startswith("Bearer ") or auth[7:] != st.service_key:
            raise storage_error(403, "AccessDenied", "invalid signature", "Unauthorized")

    def json_body(self):
        raw = self.read_body()
        if not raw:
            return {}
        try:
            v = json.loads(raw)
        except ValueError:
            raise storage_error(400, "InvalidRequest",
                                "Body is not valid JSON", "Bad Request")
        if not isinstance(v, dict):
            raise storage_error(400, "InvalidRequest", "body must be object", "Bad Request")
        return v

    def storage(self, p, raw):
        st = self.state
        m = self.command
        segs = p.split("/")  # ['', 'bucket', ...]
        top = segs[1] if len(segs) > 1 else ""
        if top == "bucket":
            return self.bucket_routes(segs[2:])
        if top == "object":
            return self.object_routes(p[len("/object"):])
        self.read_body()
        raise ApiError(404, {"statusCode": 404, "error": "Not Found",
                             "message": "Route %s:%s not found" % (m, raw)})

    def bucket_routes(self, rest):
        st = self.state
        m = self.command
        rest = [urllib.parse.unquote(s) for s in rest]
        if m == "GET" and rest in ([], [""]):
            self.auth_storage()
            with st.lock:
                return self.send(200, [b.json() for b in st.buckets.values()])
        if m == "POST" and rest in ([], [""]):
            self.auth_storage()
            body = self.json_body()
            name = body.get("name")
            if not isinstance(name, str):
                raise storage_error(400, "InvalidRequest",
                                    "body must have required property 'name'", "Bad Request")
            try:
                limit = parse_size_limit(body.get("file_size_limit"))
            except ValueError:
                raise storage_error(400, "InvalidRequest",
                                    "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
            st.new_bucket(body.get("id") or name, name, body.get("public", False),
                          limit, body.get("allowed_mime_types"))
            return self.send(200, {"name": name})
        if len(rest) == 1 and m in ("GET", "PUT", "DELETE"):
            bid = rest[0]
            self.auth_storage()
            body = self.json_body() if m == "PUT" else (self.read_body() and {})
            with st.lock:
                b = st.bucket(bid)
                if m == "GET":
                    return self.send(200, b.json())
                if m == "PUT":
                    if "public" in body:
                        b.public = bool(body["public"])
                    if "file_size_limit" in body:
                        try:
                            b.file_size_limit = parse_size_limit(body["file_size_limit"])
                        except ValueError:
                            raise storage_error(400, "InvalidRequest",
                                                "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
                    if "allowed_mime_types" in body:
                        b.allowed_mime_types = body["allowed_mime_types"]
                    b.updated = time.time()
                    return self.send(200, {"message": "Successfully updated"})
                if b.objects:
                    raise storage_error(409, "ResourceNotEmpty",
                                        "The bucket you tried to delete is not empty")
                del st.buckets[bid]
                return self.send(200, {"message": "Successfully deleted"})
        if len(rest) == 2 and rest[1] == "empty" and m == "POST":
            self.auth_storage()
            self.read_body()
            with st.lock:
                st.bucket(rest[0]).objects = {}
            return self.send(200, {"message": "Successfully emptied"})
        self.read_body()
        raise ApiError(404, {"statusCode": 404, "error": "Not Found",
                             "message": "Route %s:%s not found" % (m, self.path)})

    def split_object(self, rest):
        """'/{bucket}/{path...}' (still encoded) -> (bucket, name)."""
        if not rest.startswith("/"):
            raise no_such_key()
        bucket, sep, name = rest[1:].partition("/")
        try:
            bucket = urllib.parse.unquote(bucket, errors="strict")
            name = urllib.parse.unquote(name, errors="strict")
        except UnicodeDecodeError:
            raise storage_error(400, "InvalidKey", "Invalid key: %r" % rest)
        if not sep or name == "":
            raise storage_error(400, "InvalidRequest", "params must have required property '*'",
                                "Bad Request")
        return bucket, name

    def object_routes(self, rest):
        st = self.state
        m = self.command
        if m == "POST" and rest.startswith("/list/"):
            self.auth_storage()
            return self.list_objects(urllib.parse.unquote(rest[len("/list/"):]))
        for pre, public in (("/info/authenticated", False), ("/info/public", True),
                            ("/info", False)):
            if m == "GET" and rest.startswith(pre + "/"):
                self.auth_storage(public_ok=public)
                bid, name = self.split_object(rest[len(pre):])
                return self.object_info(bid, name, public)
        for pre, public in (("/authenticated", False), ("/public", True)):
            if m in ("GET", "HEAD") and rest.startswith(pre + "/"):
                self.auth_storage(public_ok=public)
                bid, name = self.split_object(rest[len(pre):])
                return self.download(bid, name, public)
        if m in ("GET", "HEAD"):
            self.auth_storage()
            bid, name = self.split_object(rest)
            return self.download(bid, name, False)
        if m in ("POST", "PUT"):
            self.auth_storage()
            bid, name = self.split_object(rest)
            return self.upload(bid, name, upsert=(m == "PUT" or
                                                  self.headers.get("x-upsert") == "true"))
        if m == "DELETE":
            tail = rest[1:]
            if "/" not in tail:
                self.auth_storage()
                return self.delete_many(urllib.parse.unquote(tail))
            self.auth_storage()
            bid, name = self.split_object(rest)
            self.read_body()
            with st.lock:
                b = st.bucket(bid)
                if name not in b.objects:
                    raise no_such_key()
                del b.objects[name]
            return self.send(200, {"message": "Successfully deleted"})
        self.read_body()
        raise ApiError(404, {"statusCode": 404, "error": "Not Found",
                             "message": "Route %s:%s not found" % (m, self.path)})

    def list_objects(self, bid):
        st = self.state
        body = self.json_body()
        prefix = body.get("prefix")
        if not isinstance(prefix, str):
            raise storage_error(400, "InvalidRequest",
                                "body must have required property 'prefix'", "Bad Request")
        limit = body.get("limit", 100)
        offset = body.get("offset", 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise storage_error(400, "InvalidRequest", "body/limit must be >= 1", "Bad Request")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise storage_error(400, "InvalidRequest", "body/offset must be >= 0", "Bad Request")
        sort = body.get("sortBy") or {}
        column = sort.get("column", "name")
        order = sort.get("order", "asc")
        if column not in ("name", "updated_at", "created_at", "last_accessed_at") or \
                order not in ("asc", "desc"):
            raise storage_error(400, "InvalidRequest",
                                "body/sortBy/column must be equal to one of the allowed values",
                                "Bad Request")
        search = body.get("search") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        with st.lock:
            b = st.buckets.get(bid)
            if b is None:
                # storage.search() over no rows: an empty page, not an error
                return self.send(200, [])
            folders = {}
            files = []
            for name, o in b.objects.items():
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix):]
                if not rest.startswith(search):
                    continue
                head, sep, _ = rest.partition("/")
                if sep:
                    folders[head] = True
                else:
                    # storage.search() rows: no bucket_id or owner here
                    r = o.row(bid)
                    f = {"name": rest, "id": r["id"],
                         "updated_at": r["updated_at"],
                         "created_at": r["created_at"],
                         "last_accessed_at": r["last_accessed_at"],
                         "metadata": r["metadata"]}
                    if st.list_user_md:
                        f["user_metadata"] = o.user_md
                    files.append(f)
            entries = [{"name": f, "id": None, "updated_at": None, "created_at": None,
                        "last_accessed_at": None, "metadata": None} for f in folders]
            if st.list_user_md:
                for e in entries:
                    e["user_metadata"] = None
            entries += files
            key = {"name": "name"}.get(column, column)
            # folders have no dates: they sort first, by name
            entries.sort(key=lambda e: (e.get(key) or "", e["name"].encode()) if key != "name"
                         else e["name"].encode(), reverse=(order == "desc"))
            page = entries[offset:offset + limit]
        return self.send(200, page)

    def object_info(self, bid, name, public):
        st = self.state
        self.read_body()
        with st.lock:
            o = st.find(bid, name, public)
            d = {"id": o.id, "name": name, "version": o.version, "bucket_id": bid,
                 "size": len(o.data), "content_type": o.mimetype,
                 "cache_control": o.cache_control, "etag": o.etag,
                 "metadata": o.user_md, "last_modified": iso_now(o.updated),
                 "created_at": iso_now(o.created)}
        return self.send(200, d)

    def download(self, bid, name, public):
        st = self.state
        self.read_body()
        with st.lock:
            o = st.find(bid, name, public)
            o.accessed = time.time()
            data, etag, mt, cc, upd = o.data, o.etag, o.mimetype, o.cache_control, o.updated
        hdrs = {"ETag": etag, "Cache-Control": cc, "Last-Modified": http_date(upd),
                "Accept-Ranges": "bytes"}
        status = 200
        inm = self.headers.get("If-None-Match")
        if inm and inm == etag:
            self.send_response(304)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and (if_range is None or if_range == etag):
            mr = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
            if not mr or (mr.group(1) == "" and mr.group(2) == ""):
                raise storage_error(400, "InvalidRange", "invalid range provided",
                                    "invalid_range")
            n = len(data)
            if mr.group(1) == "":
                start, end = max(0, n - int(mr.group(2))), n - 1
            else:
                start = int(mr.group(1))
                end = int(mr.group(2)) if mr.group(2) else n - 1
                end = min(end, n - 1)
            if start >= n or start > end:
                return self.send(416, b"", headers={"Content-Range": "bytes */%d" % n})
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (start, end, n)
            data = data[start:end + 1]
            status = 206
        return self.send(status, data, ctype=mt, headers=hdrs)

    def upload(self, bid, name, upsert):
        st = self.state
        if self.headers.get("Content-Length") is None and \
                "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            raise storage_error(400, "MissingContentLength",
                                "You must provide the Content-Length HTTP header.")
        body = self.read_body()
        ctype = self.headers.get("Content-Type") or "application/octet-stream"
        user_md = None
        if ctype.startswith("multipart/form-data"):
            try:
                parts = parse_multipart(body, ctype)
            except (ValueError, UnicodeDecodeError):
                raise storage_error(400, "InvalidRequest", "Unexpected empty file received")
            fields, fpart = {}, None
            for h, d in parts:
                pname, fname = disposition(h)
                if fname is not None and fpart is None:
                    fpart = (h, d)
                elif pname:
                    fields[pname] = d.decode("utf-8", "replace")
            if fpart is None:
                raise storage_error(400, "InvalidRequest", "No file provided")
            data = fpart[1]
            mimetype = fpart[0].get("content-type", "application/octet-stream")
            cache = fields.get("cacheControl")
            cache = "max-age=%s" % cache if cache else "no-cache"
            if "metadata" in fields:
                try:
                    user_md = json.loads(fields["metadata"])
                except ValueError:
                    raise storage_error(400, "InvalidRequest", "Invalid metadata")
        else:
            data = body
            mimetype = ctype
            cache = self.headers.get("Cache-Control") or "no-cache"
            xm = self.headers.get("x-metadata")
            if xm is not None:
                try:
                    user_md = json.loads(base64.b64decode(xm, validate=True))
                except (ValueError, TypeError):
                    raise storage_error(400, "InvalidRequest", "Invalid metadata")
                if not isinstance(user_md, dict):
                    raise storage_error(400, "InvalidRequest", "Invalid metadata")
        o = st.put(bid, name, data, mimetype, cache, user_md, upsert)
        return self.send(200, {"Key": "%s/%s" % (bid, name), "Id": o.id})

    def delete_many(self, bid):
        st = self.state
        body = self.json_body()
        prefixes = body.get("prefixes")
        if not isinstance(prefixes, list) or not all(isinstance(x, str) for x in prefixes):
            raise storage_error(400, "InvalidRequest",
                                "body must have required property 'prefixes'", "Bad Request")
        if len(prefixes) < 1:
            raise storage_error(400, "InvalidRequest",
                                "body/prefixes must NOT have fewer than 1 items", "Bad Request")
        if len(prefixes) > DELETE_LIMIT:
            raise storage_error(400, "InvalidRequest",
                                "Maximum number of prefixes to delete is %d" % DELETE_LIMIT)
        out = []
        with st.lock:
            b = st.bucket(bid)
            for name in prefixes:
                o = b.objects.pop(name, None)
                if o is not None:
                    out.append(o.row(bid))
        return self.send(200, out)

    # -- management API --

    def auth_mgmt(self):
        st = self.state
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] != st.access_token:
            raise mgmt_error(401, "Unauthorized")
        token = auth[7:]
        now = time.monotonic()
        with st.lock:
            hits = [t for t in st.rate_hits.get(token, []) if now - t < st.rate_window]
            if len(hits) >= st.rate_limit:
                wait = st.rate_window - (now - hits[0])
                st.rate_hits[token] = hits
                raise mgmt_error(429, "Too many requests",
                                 {"Retry-After": str(max(1, int(wait + 0.999))),
                                  "X-RateLimit-Limit": str(st.rate_limit),
                                  "X-RateLimit-Remaining": "0"})
            hits.append(now)
            st.rate_hits[token] = hits

    def management(self, path, raw):
        st = self.state
        m = self.command
        segs = [urllib.parse.unquote(s) for s in path.split("/")[1:]]
        query = urllib.parse.parse_qs(raw.partition("?")[2])
        # v1 projects {ref} functions ...
        if len(segs) >= 4 and segs[:2] == ["v1", "projects"] and segs[3] == "functions":
            if m == "GET" and len(segs) == 4:
                route = "mgmt.functions.list"
            elif m == "POST" and len(segs) == 5 and segs[4] == "deploy":
                route = "mgmt.functions.deploy"
            elif m == "GET" and len(segs) == 5:
                route = "mgmt.functions.get"
            elif m == "GET" and len(segs) == 6 and segs[5] == "body":
                route = "mgmt.functions.body"
            elif m == "DELETE" and len(segs) == 5:
                route = "mgmt.functions.delete"
            else:
                route = None
            if route:
                body = self.read_body()
                self.auth_mgmt()
                if segs[2] != st.ref:
                    raise mgmt_error(403, "Your account does not have the necessary "
                                          "privileges to access this endpoint. For more "
                                          "details, refer to our documentation "
                                          "https://supabase.com/docs/guides/platform/access-control")
                if route == "mgmt.functions.list":
                    with st.lock:
                        return self.send(200, [f.json(st.ref) for f in st.functions.values()])
                if route == "mgmt.functions.deploy":
                    return self.deploy(query, body)
                with st.lock:
                    f = st.functions.get(segs[4])
                    if f is None:
                        raise mgmt_error(404, "Function not found")
                    if route == "mgmt.functions.get":
                        return self.send(200, f.json(st.ref))
                    if route == "mgmt.functions.delete":
                        # the published API answers 200 with an empty body
                        del st.functions[segs[4]]
                        return self.send(200, b"")
                    return self.function_body(f)
        self.read_body()
        raise mgmt_error(404, "Cannot %s %s" % (m, path))

    def function_body(self, f):
        st = self.state
        d = f.deploy_dir(st.ref)
        if "multipart/form-data" not in self.headers.get("Accept", ""):
            # Without the Accept header the API sends the eszip bundle.
            blob = b"ESZIP2.3" + hashlib.sha256(
                b"".join(k.encode() + v for k, v in sorted(f.files.items()))).digest()
            return self.send(200, blob, ctype="application/octet-stream")
        meta = json.dumps({"deno2_entrypoint_path": "file://" + d + f.entrypoint}).encode()
        parts = [([("Content-Disposition", 'form-data; name="metadata"'),
                   ("Content-Type", "application/json")], meta)]
        for k in sorted(f.files):
            ctype = mimetypes.guess_type(k)[0] or "application/octet-stream"
            if k.endswith(".ts") or k.endswith(".tsx"):
                ctype = "application/typescript"
            parts.append(([("Content-Disposition", 'form-data; name="file"; filename=%s'
                            % quote_filename(d + k)),
                           ("Content-Type", ctype)], f.files[k]))
        data, ctype = build_multipart(parts)
        return self.send(200, data, ctype=ctype)

    def deploy(self, query, body):
        st = self.state
        slug = (query.get("slug") or [None])[0]
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise mgmt_error(400, "Expected multipart/form-data body")
        try:
            parts = parse_multipart(body, ctype)
        except (ValueError, UnicodeDecodeError) as e:
            raise mgmt_error(400, "Failed to parse multipart body: %s" % e)
        meta, files = None, {}
        for h, data in parts:
            pname, fname = disposition(h)
            if pname == "metadata":
                # browsers' FormData sends a Blob part with filename "blob"
                try:
                    meta = json.loads(data)
                except ValueError:
                    raise mgmt_error(400, "metadata must be valid JSON")
            elif pname == "file" and fname is not None:
                fname = fname.lstrip("/")
                if fname.startswith("./"):
                    fname = fname[2:]
                if not fname or ".." in fname.split("/"):
                    raise mgmt_error(400, "Invalid file name: %s" % fname)
                files[fname] = data
        if not isinstance(meta, dict):
            raise mgmt_error(400, "metadata is required")
        entry = meta.get("entrypoint_path")
        if not isinstance(entry, str) or not entry:
            raise mgmt_error(400, "metadata.entrypoint_path is required")
        if not files:
            raise mgmt_error(400, "At least one file is required")
        if entry not in files:
            raise mgmt_error(400, "Entrypoint %s not found in the uploaded files" % entry)
        slug = slug or meta.get("name")
        if not slug or not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", slug):
            raise mgmt_error(400, "Invalid function slug")
        imap = meta.get("import_map_path")
        if imap is not None and imap not in files:
            raise mgmt_error(400, "Import map %s not found in the uploaded files" % imap)
        with st.lock:
            f = st.functions.get(slug)
            if f is None:
                f = Function(slug)
                st.functions[slug] = f
            f.name = meta.get("name") or f.name
            f.verify_jwt = bool(meta.get("verify_jwt", True))
            f.entrypoint = entry
            f.import_map = imap
            f.files = files
            f.version += 1
            f.updated = int(time.time() * 1000)
            return self.send(201, f.json(st.ref))


class _Sink:
    closed = False

    def write(self, b):
        return len(b)

    def flush(self):
        pass

    def close(self):
        pass


def seed(state, d):
    sdir = os.path.join(d, "storage")
    if os.path.isdir(sdir):
        for entry in sorted(os.listdir(sdir)):
            full = os.path.join(sdir, entry)
            if not os.path.isdir(full):
                continue
            cfg = {}
            cfile = os.path.join(sdir, entry + ".bucket.json")
            if os.path.exists(cfile):
                with open(cfile) as fh:
                    cfg = json.load(fh)
            b = state.new_bucket(entry, entry, cfg.get("public", False),
                                 parse_size_limit(cfg.get("file_size_limit")),
                                 cfg.get("allowed_mime_types"))
            for root, _, files in os.walk(full):
                for fn in files:
                    p = os.path.join(root, fn)
                    name = os.path.relpath(p, full)
                    with open(p, "rb") as fh:
                        data = fh.read()
                    b.objects[name] = Obj(name, data, mimetypes.guess_type(name)[0],
                                          None, None)
    jl = os.path.join(d, "objects.jsonl")
    if os.path.exists(jl):
        with open(jl) as fh:
            for line in fh:
                if not line.strip():
                    continue
                o = json.loads(line)
                if o["bucket"] not in state.buckets:
                    state.new_bucket(o["bucket"], o["bucket"])
                data = base64.b64decode(o["data_b64"]) if "data_b64" in o \
                    else o.get("data", "").encode()
                state.buckets[o["bucket"]].objects[o["name"]] = Obj(
                    o["name"], data, o.get("mimetype"), o.get("cacheControl"),
                    o.get("metadata"))
    fdir = os.path.join(d, "functions")
    if os.path.isdir(fdir):
        for slug in sorted(os.listdir(fdir)):
            full = os.path.join(fdir, slug)
            if not os.path.isdir(full):
                continue
            f = Function(slug)
            cfile = os.path.join(fdir, slug + ".function.json")
            if os.path.exists(cfile):
                with open(cfile) as fh:
                    cfg = json.load(fh)
                f.name = cfg.get("name", slug)
                f.verify_jwt = cfg.get("verify_jwt", True)
                f.entrypoint = cfg.get("entrypoint_path", "index.ts")
                f.import_map = cfg.get("import_map_path")
            for root, _, files in os.walk(full):
                for fn in files:
                    p = os.path.join(root, fn)
                    with open(p, "rb") as fh:
                        f.files[os.path.relpath(p, full)] = fh.read()
            f.version = 1
            state.functions[slug] = f


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # clients that give up (timeouts, cancels) are part of the tests
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="fake Supabase Storage + Management API")
    ap.add_argument("--seed")
    ap.add_argument("--service-key", default="service-role-test-key")
    ap.add_argument("--access-token", default="sbp_test_access_token")
    ap.add_argument("--project-ref", default="abcdefghijklmnopqrst")
    ap.add_argument("--rate-limit", type=int, default=60)
    ap.add_argument("--rate-window", type=float, default=60.0)
    ap.add_argument("--key-policy", choices=("strict", "permissive"), default="permissive")
    ap.add_argument("--list-user-metadata", action="store_true",
                    help="listings carry user_metadata, as newer Storage versions send")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    state = State(args)
    if args.seed:
        seed(state, args.seed)
    Handler.state = state
    srv = Server(("127.0.0.1", args.port), Handler)
    # A test that dies must not leave its server behind: exit when the
    # parent goes away.
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
