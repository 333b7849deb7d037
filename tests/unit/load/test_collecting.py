"""The collector of per-second records over 127.0.0.1."""

import socket
import time

from hpalab.load.collecting import Collector
from hpalab.load.recording import Recorder


def wait_for(collector, condition, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        collector.poll(0.05)
    return condition()


def test_records_from_two_processes_complete_a_second():
    collector = Collector()
    try:
        peers = [socket.create_connection(("127.0.0.1", collector.port)) for _ in range(2)]
        peers[0].sendall(b'{"type":"hello","worker":0}\n{"type":"start","worker":0,"t0":12.5}\n')
        rec0, rec1 = Recorder(worker=0), Recorder(worker=1)
        rec0.sent(0.1, late_s=0)
        line = rec0.close(1)[0].to_line()
        peers[0].sendall(line[:10])  # a line split across packets
        peers[0].sendall(line[10:] + b"not json\n")
        assert wait_for(collector, lambda: collector.t0_epoch == 12.5)
        assert wait_for(collector, lambda: collector.bad_lines == 1)
        assert collector.complete(0, workers=2) is None
        peers[1].sendall(rec1.close(1)[0].to_line() + b'{"type":"bye","worker":1}\n')
        assert wait_for(collector, lambda: collector.complete(0, workers=2) is not None)
        parts = collector.complete(0, workers=2)
        assert [p.worker for p in parts] == [0, 1] and parts[0].sent == 1
        assert collector.byes == {1} and collector.hello == {0}
        for peer in peers:
            peer.close()
        collector.poll(0.1)
    finally:
        collector.close()
