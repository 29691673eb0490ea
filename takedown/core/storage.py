"""Static files storage for production: hashed names, compressed copies, ES module imports rewritten."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # The browser hasher is plain ES modules: rewrite their `import ... from "./x.js"` to the
    # hashed names so a long-cached module never loads a stale dependency. The module worker is
    # started from `new URL("./worker.js", import.meta.url)`, which is not rewritten; it and its
    # imports are also kept under their plain names (collectstatic keeps both), so it still loads.
    support_js_module_import_aggregation = True
    # Each pass settles one level of imports; the hasher page is six modules deep.
    max_post_process_passes = 12
