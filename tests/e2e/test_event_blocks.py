"""Trail and log events are stored many to a row (blocks cut at 60 s of event time): these
tests read them back through boto3 across many overlapping blocks, in both directions and
by page, and after a kill -9, and compare with what was written; and events of calls
answered just before a SIGTERM or a kill -9 are stored."""

import datetime
import json
import random
import uuid

import pytest
from botocore.exceptions import ClientError

from test_cloudtrail_import import import_cli, rec, write_gz


def lookup_all(ct, uid, **kw):
    pages = ct.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": f"importer-{uid}"}],
        PaginationConfig={"PageSize": 50}, **kw)
    return [(e["EventTime"], e["EventId"]) for p in pages for e in p["Events"]]


def test_lookup_pages_through_overlapping_blocks_newest_first(fresh_server, tmp_path):
    uid = uuid.uuid4().hex[:8]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    rng = random.Random(7)
    # 1,200 records over three hours, in shuffled order across four files: each import
    # batch is cut into blocks of at most 60 s, and the blocks of different files overlap.
    times = {f"{uid}-{i}": now - datetime.timedelta(seconds=rng.randrange(3 * 3600)) for i in range(1200)}
    ids = list(times)
    rng.shuffle(ids)
    for f in range(4):
        chunk = ids[f * 300:(f + 1) * 300]
        write_gz(tmp_path / f"t{f}.json.gz", [rec(uid, int(i.split("-")[1]), times[i]) for i in chunk])
    out = import_cli(fresh_server, tmp_path)
    assert out.returncode == 0, out.stderr
    ct = fresh_server.client("cloudtrail")
    got = lookup_all(ct, uid)
    assert sorted(i for _, i in got) == sorted(ids), "every event once"
    stamps = [t for t, _ in got]
    assert stamps == sorted(stamps, reverse=True), "newest first across pages"
    assert all(t == times[i] for t, i in got)
    # A window in the middle: exactly the events inside it (EndTime inclusive).
    start, end = now - datetime.timedelta(minutes=100), now - datetime.timedelta(minutes=40)
    window = lookup_all(ct, uid, StartTime=start, EndTime=end)
    assert sorted(i for _, i in window) == sorted(i for i, t in times.items() if start <= t <= end)
    # Stored on disk as acknowledged: a kill -9 loses none of them.
    fresh_server.restart()
    assert sorted(i for _, i in lookup_all(fresh_server.client("cloudtrail"), uid)) == sorted(ids)


def test_log_events_read_back_across_batches_in_both_directions(fresh_server):
    logs = fresh_server.client("logs")
    group = f"blocks-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    for s in ("a", "b"):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    now_ms = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
    rng = random.Random(11)
    written = {"a": [], "b": []}
    # Eight batches a stream, each in time order but overlapping the others, spread over
    # ten minutes, so a stream holds many blocks whose time ranges cross.
    for batch in range(8):
        for s in ("a", "b"):
            ts = sorted(now_ms - rng.randrange(600_000) for _ in range(40))
            events = [{"timestamp": t, "message": f'{{"s":"{s}","batch":{batch},"n":{k}}}'} for k, t in enumerate(ts)]
            logs.put_log_events(logGroupName=group, logStreamName=s, logEvents=events)
            written[s] += [(e["timestamp"], e["message"]) for e in events]

    def get_all(stream, from_head):
        got, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=7,
                                       startFromHead=from_head, **kw)
            new = [(e["timestamp"], e["message"]) for e in page["events"]]
            key = "nextForwardToken" if from_head else "nextBackwardToken"
            if not new and page[key] == token:
                return got
            got = got + new if from_head else new + got
            token = page[key]

    for s in ("a", "b"):
        forward = get_all(s, True)
        assert sorted(forward) == sorted(written[s]), s
        assert [t for t, _ in forward] == sorted(t for t, _ in written[s])
        assert sorted(get_all(s, False)) == sorted(written[s]), s
    # FilterLogEvents over both streams, by pages of 10, in time order, with a pattern.
    found, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=group, filterPattern='{ $.batch = 3 }', limit=10, **kw)
        found += [(e["logStreamName"], e["timestamp"], e["message"]) for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    want = sorted((s, t, m) for s in ("a", "b") for t, m in written[s] if '"batch":3,' in m)
    assert sorted(found) == want
    assert [t for _, t, _ in found] == sorted(t for _, t, _ in found)


def test_events_of_answered_calls_survive_a_clean_shutdown(fresh_server):
    """The recorder keeps events in memory for a moment to store them in batches; a
    SIGTERM right after a call's answer stores them before the process ends."""
    names = [f"sigterm-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    iam = fresh_server.client("iam")
    for name in names:
        iam.create_user(UserName=name)
    fresh_server.kill(15)
    fresh_server.start()
    events = fresh_server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])["Events"]
    recorded = {json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"] for e in events}
    assert set(names) <= recorded, (names, recorded)


def test_events_of_answered_calls_survive_a_kill_9(fresh_server):
    """On disk a call that changes something or fails is answered only once its event is
    stored: killing the server right after the answers loses none of those events."""
    iam, ct = fresh_server.client("iam"), fresh_server.client("cloudtrail")
    rids = [iam.create_user(UserName=f"kill9-{uuid.uuid4().hex[:8]}")["ResponseMetadata"]["RequestId"]
            for _ in range(3)]
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name=f"missing-{uuid.uuid4().hex[:8]}")
    rids.append(exc.value.response["ResponseMetadata"]["RequestId"])
    fresh_server.kill(9)
    fresh_server.start()
    ct = fresh_server.client("cloudtrail")
    recorded = {}
    for name in ("CreateUser", "GetTrail"):
        pages = ct.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        for page in pages:
            for e in page["Events"]:
                r = json.loads(e["CloudTrailEvent"])
                recorded[r["requestID"]] = r
    assert set(rids) <= set(recorded), (rids, sorted(recorded))
    assert recorded[rids[-1]]["errorCode"] == "TrailNotFoundException"
