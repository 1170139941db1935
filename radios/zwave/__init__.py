"""The Z-Wave radio: a client of zwave-js-server (Z-Wave JS owns the stick)."""
