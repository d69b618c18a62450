"""The "New job" dialog and its parts: payload fields, schedule editor, device picker and
rollout fields, each a widget of its own that says what it holds and what is wrong with it;
the dialog puts them together and creates the job."""

from jobdesk.ui.new_job.dialog import NewJobDialog
from jobdesk.ui.new_job.payload_fields import FileCheck
from jobdesk.ui.new_job.rollout_fields import ROLLOUT_PRESETS, batches_preview
from jobdesk.ui.new_job.schedule_editor import preview_lines

__all__ = ["ROLLOUT_PRESETS", "FileCheck", "NewJobDialog", "batches_preview", "preview_lines"]
