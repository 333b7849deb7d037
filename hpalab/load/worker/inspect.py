"""``python -m hpalab.load.worker.inspect LOCUSTFILE [USER_CLASS]``: what hpalab needs to
know of a locustfile, as one JSON object on standard output.

``{"ok": true, "user_class": ..., "tasks": [[name, weight], ...], "mean_wait_s": ...}``, or
``{"ok": false, "message": ..., "file": ..., "line": ...}``. It runs in its own process
because importing Locust patches the standard library (gevent).
"""

from __future__ import annotations

import json
import sys

from hpalab.load.worker.userfile import (
    LocustfileError,
    TaskTable,
    find_user_class,
    import_locustfile,
    mean_wait_s,
)


def main(argv: list[str]) -> int:
    path, name = argv[0], (argv[1] if len(argv) > 1 else None)
    try:
        user_class = find_user_class(import_locustfile(path), name, file=path)
        table = TaskTable.of(user_class, file=path)
    except LocustfileError as error:
        result = {"ok": False, "message": error.message, "file": error.file, "line": error.line}
    else:
        result = {
            "ok": True,
            "user_class": user_class.__name__,
            "tasks": [[n, w] for n, w in zip(table.names, table.weights, strict=True)],
            "mean_wait_s": mean_wait_s(user_class),
        }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
