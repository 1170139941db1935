"""The mock controller's Serial API on TCP, byte-exact: chunks are split into frames."""

from __future__ import annotations

import asyncio
from functools import reduce

import pytest

from radios.zwave.sim.mock import mock_stick

ACK = b"\x06"


def frame(function: int, payload: bytes = b"") -> bytes:
    """A host request (INS12350 5.1: SOF, LEN, type 0x00, function, payload, checksum)."""
    body = bytes([len(payload) + 3, 0x00, function]) + payload
    return b"\x01" + body + bytes([reduce(lambda a, b: a ^ b, body, 0xFF)])


GET_VERSION = frame(0x15)  # FUNC_ID_ZW_GET_VERSION
GET_CONTROLLER_ID = frame(0x20)  # FUNC_ID_MEMORY_GET_ID


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The ACK of our request, then the controller's response frame (checksum verified)."""
    ack = await reader.readexactly(1)
    head = await reader.readexactly(2)
    assert head[0] == 0x01, head
    rest = await reader.readexactly(head[1])
    body = head[1:] + rest[:-1]
    assert reduce(lambda a, b: a ^ b, body, 0xFF) == rest[-1], "bad checksum"
    return ack, head + rest


@pytest.mark.asyncio
async def test_an_ack_and_a_request_in_one_chunk_are_both_understood() -> None:
    async with mock_stick(nodes={}) as stick:
        reader, writer = await asyncio.open_connection("127.0.0.1", stick.serial_port)
        try:
            async with asyncio.timeout(10):
                writer.write(GET_VERSION)
                ack, response = await read_response(reader)
                assert ack == ACK and response[2:4] == b"\x01\x15"  # response to 0x15
                assert b"Z-Wave" in response
                # Our ACK of that response and the next request, in one TCP chunk: the stock
                # mock-server would hand both to its parser as one message and crash.
                writer.write(ACK + GET_CONTROLLER_ID)
                ack, response = await read_response(reader)
                assert ack == ACK and response[2:4] == b"\x01\x20"
                # A request split across two chunks is put back together.
                writer.write(ACK + GET_VERSION[:3])
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(GET_VERSION[3:])
                ack, response = await read_response(reader)
                assert ack == ACK and response[2:4] == b"\x01\x15"
        finally:
            writer.close()


@pytest.mark.asyncio
async def test_the_control_port_refuses_what_it_cannot_do() -> None:
    async with mock_stick(nodes={2: "binary_switch"}) as stick:
        assert (await stick.call("nodes"))["nodes"] == [2]
        with pytest.raises(Exception, match="no node 7"):
            await stick.notify(7, 6, 22)
        with pytest.raises(Exception, match="unknown node kind"):
            await stick.queue_inclusion(30, "toaster")
