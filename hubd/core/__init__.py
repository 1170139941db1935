"""The pure kernel of hubd: model, events, state, errors, clock. Stdlib only, no I/O, no asyncio."""
