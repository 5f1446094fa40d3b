"""The MLLP listener, driven by an independent client (python-hl7's MLLPClient)."""

from __future__ import annotations

import logging
import socket

import pytest
from hl7.client import MLLPClient

from chartkeeper.interfaces.mllp import run_in_thread

MSH = "MSH|^~\\&|LAB|GHH|CK|CK|20240105083000-0500||{type}|{ctl}|P|2.5.1"
PID = "PID|1||MRN7^^^GHH&2.16.840.1.113883.19.5&ISO^MR||Doe^Jane||19800101|F"
PV1 = "PV1|1|O|||||||||||||||||V7^^^GHH&2.16.840.1.113883.19.5&ISO^VN"


def _message(ctl: str, kind: str = "ADT^A04", *segments: str) -> str:
    return "\r".join([MSH.format(type=kind, ctl=ctl), "EVN|A04|20240105083000", *segments]) + "\r"


def _ack(reply: bytes) -> dict[str, list[str]]:
    assert reply.startswith(b"\x0b") and reply.endswith(b"\x1c\x0d"), reply
    lines = reply[1:-2].decode().strip("\r").split("\r")
    return {line[:3]: line.split("|") for line in lines}


def test_listener_acknowledges_over_the_wire(repo, caplog):
    with run_in_thread(repo) as running:
        host, port = running.address
        assert port != 0
        with MLLPClient(host, port) as client:
            ok = _ack(client.send_message(_message("M1", "ADT^A04", PID, PV1)))
            assert ok["MSA"][1:3] == ["AA", "M1"]
            again = _ack(client.send_message(_message("M1", "ADT^A04", PID, PV1)))
            assert again["MSH"][10] == ok["MSH"][10]  # the same ACK, from the message log
            bad = _ack(client.send_message(_message("M2", "ADT^Z99", PID, PV1)))
            assert bad["MSA"][1:3] == ["AR", "M2"] and bad["ERR"][2] == "MSH^1^9^1^2"
            missing = _ack(client.send_message(_message("M3", "ADT^A04", "PID|1", PV1)))
            assert missing["MSA"][1] == "AE" and missing["ERR"][2] == "PID^1^3"
        # A bare block without the start byte: logged and the connection closed.
        caplog.set_level(logging.WARNING, logger="chartkeeper.interfaces.mllp")
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(_message("M4", "ADT^A04", PID, PV1).encode() + b"\x1c\x0d")
            assert raw.recv(1024) == b""
        assert "do not begin with the start byte 0x0B" in caplog.text
        # The listener still serves others; this client stays connected, idle, while the
        # listener stops.
        idle = MLLPClient(host, port)
        assert _ack(idle.send_message(_message("M5", "ADT^A04", PID, PV1)))["MSA"][1] == "AA"
    # Stopping closed the idle connection, and the port no longer answers.
    idle.socket.settimeout(5)
    assert idle.socket.recv(1024) == b""
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()
    assert repo.search("Patient").total == 1
