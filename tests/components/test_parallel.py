import os
import subprocess
import sys
import textwrap

from components.parallel import imap_ordered


def _square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_in_order_for_any_worker_count():
    serial = [r for r, _ in imap_ordered(_square, range(50), 1, progress=False)]
    parallel = list(imap_ordered(_square, range(50), 2, progress=False, chunksize=3))
    assert serial == [r for r, _ in parallel] == [x * x for x in range(50)]
    assert os.getpid() not in {pid for _, pid in parallel}  # really ran in worker processes


def test_unguarded_script_with_heavy_main_does_not_recurse(tmp_path):
    """A script without a __main__ guard must not be re-run by each worker (it would start pools forever)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        from components.parallel import imap_ordered
        from tests.components.test_parallel import _square
        print("MAIN RAN")
        print(sum(r for r, _ in imap_ordered(_square, range(20), 2, progress=False)))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("MAIN RAN") == 1 and out.stdout.strip().endswith(str(sum(x * x for x in range(20))))
