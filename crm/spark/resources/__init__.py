"""Typed functions for every Spark resource the CRM uses, one module per area.

Each takes a SparkClient first; ids are quoted into the path here, so a tag such as `Hot / Warm` or an id with
odd characters can never change which resource is addressed. Reads return parsed records (`crm.spark.records`)
or a `Page` of them; creates return the new Id; updates and deletes return None or raise a SparkError.
"""

from crm.spark.resources import accounts, activity, contacts, listings, newsfeeds, savedsearches, sharedlinks

__all__ = ["accounts", "activity", "contacts", "listings", "newsfeeds", "savedsearches", "sharedlinks"]
