"""S3 load figures for docs/PERFORMANCE.md (not a test; run by hand).

    cargo build --release --bin mamori
    MAMORI_BIN=target/release/mamori /work/main/.venv/bin/python tests/e2e/bench_s3.py

Clients are boto3 with the aws CLI's settings: default checksums (CRC32 in an
aws-chunked trailer on PUT), and for large objects the CLI's transfer configuration
(multipart above 8 MiB in 8 MiB parts, 10 threads, ranged GETs). The limit beside each
figure is a plain copy on the same disk: write + fsync + rename of the same sizes.
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))
from conftest import Server  # noqa: E402

THREADS = 4
SECONDS = 10
SMALL = 4 * 1024
LARGE = 16 * 1024 * 1024
LARGE_ROUNDS = 5
CLI = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=10)


def client(server):
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=20))


def rate(work):
    """Runs work(thread, n) on THREADS threads for SECONDS; returns operations/s."""
    counts = [0] * THREADS
    stop = time.time() + SECONDS

    def run(i):
        n = 0
        while time.time() < stop:
            work(i, n)
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.time() - start)


def disk_small(dir_):
    """Plain-file baseline for small objects: write, fsync, rename (what S3 does per PUT)."""
    data = os.urandom(SMALL)

    def work(i, n):
        tmp = Path(dir_) / f"t{i}-{n}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, Path(dir_) / f"o{i}-{n}")
    return rate(work)


def disk_large(dir_, src):
    start = time.time()
    for n in range(LARGE_ROUNDS):
        with open(src, "rb") as f, open(Path(dir_) / f"big{n}", "wb") as out:
            out.write(f.read())
            out.flush()
            os.fsync(out.fileno())
    return LARGE_ROUNDS * LARGE / (time.time() - start) / 1e6


def main():
    server = Server(name="bench-s3")
    try:
        clients = [client(server) for _ in range(THREADS)]
        clients[0].create_bucket(Bucket="bench")
        body = os.urandom(SMALL)
        # The harness's own ceiling: the cheapest signed S3 call (no body, one lookup).
        head = rate(lambda i, n: clients[i].head_bucket(Bucket="bench"))
        put = rate(lambda i, n: clients[i].put_object(Bucket="bench", Key=f"small/{i}/{n}", Body=body))
        get = rate(lambda i, n: clients[i].get_object(Bucket="bench", Key=f"small/{i}/{n % 50}")["Body"].read())
        with tempfile.TemporaryDirectory(dir=server.data_dir) as tmp:
            src = Path(tmp) / "src.bin"
            src.write_bytes(os.urandom(LARGE))
            c = clients[0]
            start = time.time()
            for n in range(LARGE_ROUNDS):
                c.upload_file(str(src), "bench", f"large/{n}", Config=CLI)
            up = LARGE_ROUNDS * LARGE / (time.time() - start) / 1e6
            start = time.time()
            for n in range(LARGE_ROUNDS):
                c.download_file("bench", f"large/{n}", str(Path(tmp) / f"dl{n}"), Config=CLI)
            down = LARGE_ROUNDS * LARGE / (time.time() - start) / 1e6
            single = time.time()
            for n in range(LARGE_ROUNDS):
                c.put_object(Bucket="bench", Key=f"single/{n}", Body=src.read_bytes())
            single_put = LARGE_ROUNDS * LARGE / (time.time() - single) / 1e6
            single = time.time()
            for n in range(LARGE_ROUNDS):
                c.get_object(Bucket="bench", Key=f"single/{n}")["Body"].read()
            single_get = LARGE_ROUNDS * LARGE / (time.time() - single) / 1e6
            base_small = disk_small(tmp)
            base_large = disk_large(tmp, src)
        print(f"HeadBucket (baseline)  {head:8.0f} ops/s   (same boto3 harness)")
        print(f"4 KiB PutObject        {put:8.0f} ops/s   ({THREADS} threads, {SECONDS} s)")
        print(f"4 KiB GetObject        {get:8.0f} ops/s")
        print(f"4 KiB write+fsync+rename {base_small:6.0f} ops/s   (same disk, {THREADS} threads)")
        print(f"16 MiB upload_file     {up:8.1f} MB/s    (CLI transfer config: 2 parts of 8 MiB)")
        print(f"16 MiB download_file   {down:8.1f} MB/s    (ranged GETs of 8 MiB)")
        print(f"16 MiB PutObject       {single_put:8.1f} MB/s    (one request)")
        print(f"16 MiB GetObject       {single_get:8.1f} MB/s    (one request)")
        print(f"16 MiB read+write+fsync {base_large:7.1f} MB/s    (same disk)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
