# The bench's hello app for the WSGI peers (uWSGI, gunicorn): the same bytes as apps/hello.mjs, with the
# Content-Length the gateway computes for that app (without it uWSGI's HTTP socket closes every connection).
BODY = b'hello\n'


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(BODY)))])
    return [BODY]
