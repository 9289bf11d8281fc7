from django.urls import path

from crm.agents import views as link_views

from . import views, views_bulk, views_csv, views_duplicates, views_live, views_merge, views_writes

app_name = "contacts"
urlpatterns = [
    path("", views.contacts_list, name="list"),
    path("new/", views.contact_create, name="create"),
    path("link/", link_views.link_start, name="link"),
    path("link/callback/", link_views.link_callback, name="link_callback"),
    path("attention/", views_writes.attention, name="attention"),
    path("meta/", views_live.contacts_list_meta, name="list_meta"),
    path("bulk/", views_bulk.bulk_start, name="bulk"),
    path("jobs/<int:pk>/", views_bulk.bulk_job, name="job"),
    path("jobs/<int:pk>/undo-merge/", views_merge.bulk_merge_undo, name="bulk_merge_undo"),
    path("import/", views_csv.import_upload, name="import"),
    path("import/<int:pk>/", views_csv.import_detail, name="import_detail"),
    path("import/<int:pk>/job/", views_csv.import_job, name="import_job"),
    path("import/<int:pk>/cancel/", views_csv.import_cancel, name="import_cancel"),
    path("import/<int:pk>/problems.csv", views_csv.import_failures, name="import_failures"),
    path("duplicates/", views_duplicates.duplicates, name="duplicates"),
    path("duplicates/check/", views_duplicates.duplicates_check_again, name="duplicates_check"),
    path("duplicates/merge-obvious/", views_duplicates.duplicates_merge_obvious, name="duplicates_merge_obvious"),
    path("duplicates/<int:pk>/not-duplicates/", views_duplicates.duplicates_dismiss, name="duplicates_dismiss"),
    path("merge/", views_merge.merge_pair, name="merge"),
    path("merge/<int:pk>/", views_merge.merge_status, name="merge_status"),
    path("merge/<int:pk>/undo/", views_merge.merge_undo, name="merge_undo"),
    path("<int:pk>/merge-with/", views_merge.merge_with, name="merge_with"),
    path("export/", views_csv.export_list, name="export"),
    path("export/selection/", views_csv.export_selection, name="export_selection"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/row/", views_live.contact_row, name="row"),
    path("<int:pk>/live/", views_live.contact_live, name="live"),
    path("<int:pk>/activity/", views.contact_activity, name="activity"),
    path("<int:pk>/edit/", views.contact_edit, name="edit"),
    path("<int:pk>/delete/", views_writes.contact_delete, name="delete"),
    path("<int:pk>/tags/add/", views_writes.contact_tag_add, name="tag_add"),
    path("<int:pk>/tags/remove/", views_writes.contact_tag_remove, name="tag_remove"),
    path("<int:pk>/transfer/", views_writes.contact_transfer, name="transfer"),
    path("<int:pk>/connect/", views_writes.contact_connect, name="connect"),
    path("changes/<int:pk>/retry/", views_writes.write_retry, name="write_retry"),
    path("changes/<int:pk>/discard/", views_writes.write_discard, name="write_discard"),
    path("changes/<int:pk>/undo/", views_writes.write_undo, name="write_undo"),
]
