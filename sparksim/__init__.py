"""sparksim: an in-memory HTTP simulator of the Spark Platform API (flexmls REST API).

Standalone on purpose: it imports nothing from the CRM, so it can stand in for Spark in every test and in `make run`.
"""
