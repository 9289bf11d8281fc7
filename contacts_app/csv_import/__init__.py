"""CSV import: read the file (Python's csv, charset-normalizer for what is not UTF-8), guess how its columns map to
Spark's fields, classify each row (create, fill in a duplicate, skip a duplicate, invalid with its reason), and run
it as a bulk job whose creates and updates go through the outbox at the key's rate limit.
"""

from __future__ import annotations

from .claims import (  # noqa: F401
    READ_MAX_ATTEMPTS,
    _claim,
    _claim_ttl,
    _ClaimLost,
    _inline_rows,
    _queue,
    _refuse,
    _renew,
)
from .classify import (  # noqa: F401
    RowPlan,
    _cell,
    _classify_held,
    _fill_plan,
    _keys,
    _rows_plan_save,
    _split_list,
    csv_import_classify,
    csv_import_classify_run,
    csv_import_nudge,
    csv_import_preview,
    csv_imports_sweep,
    mapping_errors,
    planned_writes,
    row_attributes,
)
from .fields import (  # noqa: F401
    _GUESS,
    ALIASES,
    FIELD_LABELS,
    FIELDS,
    FORMULA,
    LIST_FIELDS,
    CsvRefused,
    _norm,
    field_label,
    guess_mapping,
)
from .outcomes import (  # noqa: F401
    OUTCOME_LABELS,
    PROBLEM_OUTCOMES,
    failures_csv_lines,
    import_counts_by_action,
    outcome_counts,
    row_outcome,
    write_statuses,
)
from .read import (  # noqa: F401
    READ_BATCH,
    SNIFF_BYTES,
    ParsedCsv,
    _decode,
    _delimiter,
    _read_held,
    csv_import_create,
    csv_import_read,
    csv_import_upload,
    csv_parse,
    csv_sniff,
)
from .run import (  # noqa: F401
    _heartbeat,
    _nothing_to_import,
    _planned_total,
    _row_writes,
    csv_import_cancel,
    csv_import_prepare,
    csv_import_start,
)
