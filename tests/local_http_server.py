"""A throw-away HTTP server on 127.0.0.1 for the download tests (get_file, lamina.datasets).

Example:
    with LocalServer({"/data.bin": b"abc"}) as server:
        url = server.url + "/data.bin"
"""

from __future__ import annotations

import http.server
import threading


class LocalServer:
    """Serves `files` (URL path -> bytes) from a thread; counts the requests per path.

    A path listed in `truncate` announces its full length but sends only half of it and closes
    the connection, as a dropped download does.
    """

    def __init__(self, files: dict, truncate=()):
        self.files = dict(files)
        self.truncate = set(truncate)
        self.hits: dict = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                path = self.path.split("?")[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                if path not in server.files:
                    self.send_error(404, "Not Found")
                    return
                body = server.files[path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
