"""The feed process: writes one ffmpeg run's fed inputs (`reelforge.ffmpeg.feed`, process mode).

stdin: a pickled list of (inherited write fd, feed). One thread per feed, as in the threads
mode (ffmpeg reads its inputs in whatever order its graph needs them, so no feed may wait for
another). Exit 0 when every feed was written or ffmpeg stopped reading; 1 with the first error's
message as the last line of stderr, which the parent raises as the run's error (reelforge's own
errors, such as a corrupt picture's InputError, travel pickled so they keep their type and exit code)."""

from __future__ import annotations

import base64
import pickle
import sys
import threading

from reelforge.errors import ReelforgeError
from reelforge.ffmpeg.feed import USER_ERROR, write_feed


def main() -> int:
    jobs = pickle.load(sys.stdin.buffer)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=write_feed, args=(fd, feed, errors), name=f"feed-{k}")
               for k, (fd, feed) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        first = errors[0]
        print(_account(first), file=sys.stderr)
        return 1
    return 0


def _account(error: BaseException) -> str:
    """The last stderr line the parent raises: reelforge's own errors (a corrupt picture) pickled,
    so they keep their type and exit code; anything else as text."""
    if isinstance(error, ReelforgeError):
        try:
            return USER_ERROR + base64.b64encode(pickle.dumps(error)).decode("ascii")
        except Exception:  # noqa: BLE001 - an attribute that does not pickle: send the text instead
            pass
    text = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split("\n"))  # one line: the parent reads the last one


if __name__ == "__main__":
    sys.exit(main())
