"""The storage server's own throughput, beside the results: a plain multipart upload and
download of one file of random bytes (boto3's defaults: 8 MB parts, 10 threads) through
the same TLS endpoint WAL-G and pgBackRest use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.progress import log
from bench.stats import MIB, rate, summary, timed
from bench.storage import BUCKET, TlsStorage

KEY = "bench/storage-test.bin"


def write_random_file(path: Path, megabytes: int) -> None:
    with path.open("wb") as out:
        for _ in range(megabytes):
            out.write(os.urandom(MIB))


def measure_storage(storage: TlsStorage, megabytes: int, runs: int, work: Path) -> dict[str, Any]:
    client = storage.client("s3")
    source, copy = work / "storage-test.bin", work / "storage-test.copy"
    work.mkdir(parents=True, exist_ok=True)
    upload: list[float] = []
    download: list[float] = []
    try:
        write_random_file(source, megabytes)
        for run in range(1, runs + 1):
            log(f"storage throughput, run {run}/{runs}: {megabytes} MB up and down")
            upload.append(timed(lambda: client.upload_file(str(source), BUCKET, KEY)))
            download.append(timed(lambda: client.download_file(BUCKET, KEY, str(copy))))
            copy.unlink()
    finally:
        source.unlink(missing_ok=True)
        copy.unlink(missing_ok=True)
        storage.delete_under(KEY)
    size = megabytes * MIB
    return {
        "megabytes": megabytes,
        "upload_s": summary(upload),
        "download_s": summary(download),
        "upload_mb_s": rate(size, summary(upload)["median"]),
        "download_mb_s": rate(size, summary(download)["median"]),
    }
