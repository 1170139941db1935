"""`hubctl`: the command line of the hub, a client of its LAN API only."""
