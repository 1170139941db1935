"""The Lutron radio: the Lutron Integration Protocol over RS232 and telnet, and its simulator."""
