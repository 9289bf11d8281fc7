"""Per-agent contact counts kept by statement-level triggers (with transition tables: one upsert per statement,
however many rows it touched), so the list reads its total instead of counting the agent's rows."""

import django.db.models.deletion
from django.db import migrations, models

# The list's rows: see selectors.contact_list (a refused create exists only here and stays out of it).
LIVE = "NOT pending_delete AND NOT (spark_id IS NULL AND write_state = 'failed')"

SQL = f"""
CREATE FUNCTION contacts_app_contact_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO contacts_app_contactcount AS c (owner_id, live)
  SELECT owner_id, count(*) FROM contact_new WHERE {LIVE} GROUP BY owner_id ORDER BY owner_id
  ON CONFLICT (owner_id) DO UPDATE SET live = c.live + EXCLUDED.live;
  RETURN NULL;
END $$;

CREATE FUNCTION contacts_app_contact_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only statements that change what the list holds touch the counter (a tag or a score never does).
  INSERT INTO contacts_app_contactcount AS c (owner_id, live)
  SELECT owner_id, sum(n) FROM (
    SELECT owner_id, 1 AS n FROM contact_new WHERE {LIVE}
    UNION ALL SELECT owner_id, -1 FROM contact_old WHERE {LIVE}
  ) d GROUP BY owner_id HAVING sum(n) <> 0 ORDER BY owner_id
  ON CONFLICT (owner_id) DO UPDATE SET live = c.live + EXCLUDED.live;
  RETURN NULL;
END $$;

CREATE FUNCTION contacts_app_contact_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE contacts_app_contactcount c SET live = c.live - d.n
  FROM (SELECT owner_id, count(*) AS n FROM contact_old WHERE {LIVE} GROUP BY owner_id ORDER BY owner_id) d
  WHERE c.owner_id = d.owner_id;
  RETURN NULL;
END $$;

CREATE FUNCTION contacts_app_contact_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM contacts_app_contactcount;
  RETURN NULL;
END $$;

CREATE TRIGGER contact_count_insert AFTER INSERT ON contacts_app_contact REFERENCING NEW TABLE AS contact_new
  FOR EACH STATEMENT EXECUTE FUNCTION contacts_app_contact_count_insert();
CREATE TRIGGER contact_count_update AFTER UPDATE ON contacts_app_contact
  REFERENCING OLD TABLE AS contact_old NEW TABLE AS contact_new
  FOR EACH STATEMENT EXECUTE FUNCTION contacts_app_contact_count_update();
CREATE TRIGGER contact_count_delete AFTER DELETE ON contacts_app_contact REFERENCING OLD TABLE AS contact_old
  FOR EACH STATEMENT EXECUTE FUNCTION contacts_app_contact_count_delete();
CREATE TRIGGER contact_count_truncate AFTER TRUNCATE ON contacts_app_contact
  FOR EACH STATEMENT EXECUTE FUNCTION contacts_app_contact_count_truncate();

INSERT INTO contacts_app_contactcount (owner_id, live)
SELECT a.id, (SELECT count(*) FROM contacts_app_contact WHERE owner_id = a.id AND {LIVE})
FROM contacts_app_sparkaccount a;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS contact_count_insert ON contacts_app_contact;
DROP TRIGGER IF EXISTS contact_count_update ON contacts_app_contact;
DROP TRIGGER IF EXISTS contact_count_delete ON contacts_app_contact;
DROP TRIGGER IF EXISTS contact_count_truncate ON contacts_app_contact;
DROP FUNCTION IF EXISTS contacts_app_contact_count_insert();
DROP FUNCTION IF EXISTS contacts_app_contact_count_update();
DROP FUNCTION IF EXISTS contacts_app_contact_count_delete();
DROP FUNCTION IF EXISTS contacts_app_contact_count_truncate();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("contacts_app", "0011_csv_import"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactCount",
            fields=[
                ("owner", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                               related_name="+", serialize=False,
                                               to="contacts_app.sparkaccount")),
                ("live", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.F("updated_at"), name="contact_owner_updated"),
        ),
        # The sort indexes hold only the list's rows (models.LIST_ROWS): a deep page is an index-only scan.
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_name",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_score",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_relative",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_trend",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_modified",
        ),
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_owner_trend_asc",
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.F("display_name"), models.F("id"), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_name"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.OrderBy(models.F("score"), descending=True, nulls_last=True), models.OrderBy(models.F("id"), descending=True), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_score"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.OrderBy(models.F("relative_score"), descending=True, nulls_last=True), models.OrderBy(models.F("id"), descending=True), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_relative"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.OrderBy(models.F("trend_7d"), descending=True, nulls_last=True), models.OrderBy(models.F("id"), descending=True), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_trend"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.OrderBy(models.F("trend_7d"), nulls_last=True), models.OrderBy(models.F("id")), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_trend_asc"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(models.F("owner"), models.OrderBy(models.F("spark_modified_at"), descending=True, nulls_last=True), models.OrderBy(models.F("id"), descending=True), condition=models.Q(("pending_delete", False), models.Q(("spark_id__isnull", True), ("write_state", "failed"), _negated=True)), name="contact_owner_modified"),
        ),
    ]
