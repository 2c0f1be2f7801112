"""Voter-roll list maintenance: record linkage with honest chance-match estimates."""
