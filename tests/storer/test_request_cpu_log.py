"""ASSAY_REQUEST_CPU_LOG: each request's cpu time, by method and route (numbers as N)."""

from assay.storer.wsgi import cpu_logged


def test_each_request_is_logged_with_its_route_and_cpu_time(tmp_path):
    def app(environ, start_response):
        sum(range(200_000))  # some cpu to measure
        start_response("200 OK", [])
        return [b"ok"]

    log = tmp_path / "requests.log"
    logged = cpu_logged(app, str(log))
    for path in ("/api/submissions/12", "/submissions/7/body/"):
        assert logged({"REQUEST_METHOD": "GET", "PATH_INFO": path}, lambda *a: None) == [b"ok"]
    lines = [line.split(" ") for line in log.read_text().splitlines()]
    assert [(m, r) for _, m, r, _ in lines] == [
        ("GET", "/api/submissions/N"),
        ("GET", "/submissions/N/body/"),
    ]
    assert all(float(ms) > 0 for *_, ms in lines)
