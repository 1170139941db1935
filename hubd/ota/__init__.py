"""Signed A/B updates: verify a bundle, install it to the inactive slot, mark good or roll back.

bundle.py is the format, bootenv.py the bootloader's variables, install.py the state machine
(its docstring tells the whole story), state.py what survives on the data partition, host.py the
glue to a real hub. service.py is the daemon's side; it installs through installer.py's port:
the updater in hubd's process, or (remote.py, wire.py) the root helper, helper.py, that
installs for an unprivileged hubd on the hub OS. Imports hubd.core only (an import-linter
contract).
"""
