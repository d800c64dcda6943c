"""Chinese search across every site (issue 5; docs/search.md).

Public interface: `jiyue.search.services` (search, suggest, record_query), the segmenter
`jiyue.search.segment.segmenter()`, and `jiyue.search.replica.sync()` (the node-local index
follower run by `jiyue worker`).
"""
