"""CloudWatch load figures for docs/PERFORMANCE.md (not a test; run by hand).

    cargo build --release --bin mamori
    MAMORI_BIN=target/release/mamori /work/main/.venv/bin/python tests/e2e/bench_cloudwatch.py

1. PutMetricData throughput over HTTP (JSON 1.0, query mode, as boto3 sends it; 20 datums
   a request), with sts GetCallerIdentity through the same harness as the baseline.
2. Latency from PutMetricData to the alarm transition, real clock, 10 s period.
3. Latency from a PutLogEvents matching the CIS 3.1 filter to the alarm transition (Logs'
   metric filter -> CloudWatch -> alarm), real clock, 10 s period.
"""

import http.client
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import conftest  # noqa: E402
from conftest import Server, sigv4_headers  # noqa: E402
from cis import CIS_FILTERS, record  # noqa: E402

THREADS = 4
SECONDS = 10


def load(server, service, target, make_body, content_type):
    host = server.url.removeprefix("http://")
    counts = []
    stop = time.time() + SECONDS

    def worker(i):
        conn = http.client.HTTPConnection(host)
        n = 0
        while time.time() < stop:
            body = make_body(i, n).encode()
            headers = {"content-type": content_type}
            if target:
                headers |= {"x-amz-target": target, "x-amzn-query-mode": "true"}
            signed = sigv4_headers("POST", server.url, "/", "", headers, body, service, "us-east-1", "test", "test")
            conn.request("POST", "/", body, signed)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200, resp.status
            n += 1
        counts.append(n)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / SECONDS


def put_body(i, n):
    data = [{"MetricName": f"m{(n * 20 + k) % 1000}", "Dimensions": [{"Name": "Worker", "Value": str(i)}], "Value": k}
            for k in range(20)]
    return json.dumps({"Namespace": "Bench", "MetricData": data})


def latency(server, runs=5, via_logs=False):
    cw = server.client("cloudwatch")
    logs = server.client("logs")
    results = []
    for r in range(runs):
        name = f"latency-{r}-{time.time_ns()}"
        namespace = "Latency"
        if via_logs:
            namespace = "LogMetrics"
            logs.create_log_group(logGroupName=name)
            logs.create_log_stream(logGroupName=name, logStreamName="trail")
            logs.put_metric_filter(
                logGroupName=name, filterName="CIS-3.1", filterPattern=CIS_FILTERS[0][1],
                metricTransformations=[{"metricName": name, "metricNamespace": namespace, "metricValue": "1"}])
        cw.put_metric_alarm(AlarmName=name, Namespace=namespace, MetricName=name, Statistic="Maximum", Period=10,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            TreatMissingData="notBreaching")
        # Put just after a 10 s boundary: the worst case, a whole period to wait.
        while time.time() % 10 > 0.2:
            time.sleep(0.01)
        sent = time.time()
        if via_logs:
            event = record("GetBucketPolicy", "s3.amazonaws.com", errorCode="AccessDenied")
            logs.put_log_events(logGroupName=name, logStreamName="trail",
                                logEvents=[{"timestamp": int(sent * 1000), "message": event}])
        else:
            cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": name, "Value": 1}])
        period_end = (int(sent) // 10 + 1) * 10
        while cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] != "ALARM":
            time.sleep(0.005)
        seen = time.time()
        results.append((seen - sent, seen - period_end))
    return results


class QuietServer(Server):
    """A server logging warnings only: per-request debug lines would dominate the load."""

    def start(self):
        popen = conftest.subprocess.Popen

        def quiet(args, **kw):
            args = [("warn" if a == "info,mamori=debug" else a) for a in args]
            return popen(args, **kw)

        conftest.subprocess.Popen = quiet
        try:
            super().start()
        finally:
            conftest.subprocess.Popen = popen


def main():
    server = QuietServer(name="bench")
    try:
        sts = load(server, "sts", None, lambda i, n: "Action=GetCallerIdentity&Version=2011-06-15",
                   "application/x-www-form-urlencoded")
        put = load(server, "monitoring", "GraniteServiceVersion20100801.PutMetricData", put_body,
                   "application/x-amz-json-1.0")
        print(f"baseline sts GetCallerIdentity: {sts:.0f} req/s ({THREADS} client threads, {SECONDS} s)")
        print(f"PutMetricData (20 datums/request): {put:.0f} req/s = {put * 20:.0f} datapoints/s")
        lat = latency(server)
        print("PutMetricData -> ALARM (put just after a boundary, 10 s period):")
        print(f"  put-to-transition: median {statistics.median(x for x, _ in lat):.3f} s, "
              f"max {max(x for x, _ in lat):.3f} s")
        print(f"  after the period closed: median {statistics.median(y for _, y in lat) * 1000:.0f} ms, "
              f"max {max(y for _, y in lat) * 1000:.0f} ms")
        lat = latency(server, via_logs=True)
        print("PutLogEvents (CIS 3.1 match) -> ALARM (put just after a boundary, 10 s period):")
        print(f"  put-to-transition: median {statistics.median(x for x, _ in lat):.3f} s, "
              f"max {max(x for x, _ in lat):.3f} s")
        print(f"  after the period closed: median {statistics.median(y for _, y in lat) * 1000:.0f} ms, "
              f"max {max(y for _, y in lat) * 1000:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
