"""Segments on the ad platforms (issue 30): connected accounts, each segment's audiences, and their syncs."""
