"""The reference cloud relay of the "hubd/1" tunnel (`hubd-relay`): not installed on hubs."""
