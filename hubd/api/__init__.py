"""The LAN API: aiohttp over TLS, REST and one WebSocket, pairing and tokens, zeroconf.

It imports ``hubd.core`` and ``hubd.bus`` only; what it needs of the hub, the store and the rules
it asks through the Protocol ports of ``hubd.api.ports``, which the daemon implements.
"""
