"""A simulated RadioRA 2 main repeater: engine, pty / telnet / HTTP server, the demo house."""
