"""Wrap every error body the way Ironic does, so its clients can parse it.

Ironic answers an error with ``{"error_message": "<a JSON document as a
string>"}`` and python-ironicclient decodes that string a second time.
"""

import json


class ParsableErrorMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        captured = {}

        def capture_start(status, headers, exc_info=None):
            captured['status'] = status
            captured['headers'] = headers
            captured['exc_info'] = exc_info

        chunks = self.app(environ, capture_start)
        try:
            code = int(captured['status'].split(' ', 1)[0])
            if code < 400:
                start_response(captured['status'], captured['headers'],
                               captured['exc_info'])
                return list(chunks)
            text = '\n'.join(chunk.decode('utf-8', 'replace')
                             for chunk in chunks)
        finally:
            if hasattr(chunks, 'close'):
                chunks.close()
        body = json.dumps({'error_message': text}).encode('utf-8')
        headers = [(name, value) for name, value in captured['headers']
                   if name.lower() not in ('content-type', 'content-length')]
        headers += [('Content-Type', 'application/json'),
                    ('Content-Length', str(len(body)))]
        start_response(captured['status'], headers, captured['exc_info'])
        return [body]
