"""Intelligent Q&A (智能问答; issue 5, docs/search.md "Q&A").

Public interface: `jiyue.qa.services` (ask, feedback, import_csv), `jiyue.qa.ranker` (the
ranking method, independent of Django, used by the service and bench/bench_qa.py).
"""
