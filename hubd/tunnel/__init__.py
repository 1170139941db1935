"""The cloud tunnel "hubd/1": sans-I/O session (CBOR), outbox uplink, websockets edge."""
