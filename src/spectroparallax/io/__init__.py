"""Plumbing shared by every stage; no science here.

Owns atomic file writes (:mod:`.atomic`), the one-line exceptions a user sees
(:mod:`.errors`), row-by-row ``.npy`` files for arrays too large for memory (:mod:`.npy_rows`),
the split of a list into a fixed number of shards (:mod:`.shards`), the memory and runtime each
workflow job asks its scheduler for (:mod:`.jobsize`) and each rule script's log (:mod:`.logs`).
Reads and writes only what its callers name.
"""
