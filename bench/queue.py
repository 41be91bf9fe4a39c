"""Scaled out: webhook intake on the API role and executions on 1, 2 and 4 workers (PostgreSQL + Redis).

    eval "$(bash deploy/local/infra.sh env)"
    .venv/bin/python bench/queue.py                         # workers 1, 2, 4
    .venv/bin/python bench/queue.py --workers 2 --duration 5 --count 1000

The measurement lives in bench/queue_bench.py (its docstring says what is measured). This file
has the name the benchmark is known by, and that name is also the standard library's ``queue``:
a script run from bench/ has bench/ first on sys.path, so any ``import queue`` there (logging,
concurrent.futures, redis do it) finds this file. Imported under that name, it hands over to the
standard library's module.
"""

import sys

if __name__ == "queue":
    import importlib.util
    import sysconfig
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location("queue", Path(sysconfig.get_path("stdlib")) / "queue.py")
    _stdlib_queue = importlib.util.module_from_spec(_spec)
    sys.modules["queue"] = _stdlib_queue  # what `import queue` returns, once this file has run
    _spec.loader.exec_module(_stdlib_queue)
elif __name__ == "__main__":
    from queue_bench import main

    main()
