"""`reelforge image`, `runs` and `providers` as a user runs them: files written, exit codes,
messages, costs — and a batch killed with SIGKILL that resumes without paying twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from .fakes.image_apis import FakeImageAPI


def cli(*args: str, env: dict[str, str] | None = None, data: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "REELFORGE_DATA_DIR": str(data), **(env or {})}
    return subprocess.run([sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, env=full,
                          timeout=120)


@pytest.fixture
def gemini() -> Iterator[FakeImageAPI]:
    with FakeImageAPI("gemini") as api:
        yield api


def pngs(folder: Path) -> list[Path]:
    """The images a user sees: not the hidden `.name.XXXX.part.png` a killed writer leaves behind
    (pathlib's glob, unlike a shell's, matches dot files)."""
    return sorted(p for p in folder.glob("*.png") if not p.name.startswith(".")) if folder.exists() else []


def test_local_images_are_written_and_a_rerun_is_cached(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = cli("image", "a cosy coffee shop at dawn", "-n", "2", "--aspect", "9:16", "-o", str(out), data=tmp_path)
    assert first.returncode == 0, first.stderr
    files = pngs(out)
    assert [f.name for f in files] == ["001-1-a-cosy-coffee-shop-at-dawn.png", "001-2-a-cosy-coffee-shop-at-dawn.png"]
    with Image.open(files[0]) as img:
        assert img.size == (576, 1024)
    second = cli("image", "a cosy coffee shop at dawn", "-n", "2", "--aspect", "9:16", "-o", str(out), data=tmp_path)
    assert second.returncode == 0 and "0 generated, 2 cached" in second.stdout


def test_dry_run_estimates_cost_and_calls_nothing(tmp_path: Path, gemini: FakeImageAPI) -> None:
    result = cli("image", "a red fox", "-n", "2", "--provider", "gemini", "--dry-run", "-o", str(tmp_path / "out"),
                 env=gemini.env(), data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "plan: 2 call(s), 0 cached, estimated cost $0.0780" in result.stdout
    assert gemini.calls == [] and not pngs(tmp_path / "out")


def test_budget_stops_before_the_call_that_would_exceed_it(tmp_path: Path, gemini: FakeImageAPI) -> None:
    result = cli("image", "a red fox", "-n", "3", "--provider", "gemini", "--budget", "0.08", "--concurrency", "1",
                 "--rpm", "0", "-o", str(tmp_path / "out"), env=gemini.env(), data=tmp_path)
    assert result.returncode == 2
    assert len(gemini.calls) == 2 and len(pngs(tmp_path / "out")) == 2
    assert "past the budget of $0.08" in result.stderr and "cost $0.0780" in result.stdout


def test_a_batch_goes_on_past_bad_lines_and_names_them(tmp_path: Path) -> None:
    batch = tmp_path / "prompts.jsonl"
    batch.write_text("\n".join([
        json.dumps({"prompt": "a red fox", "aspect": "16:9"}),
        "{not json",
        json.dumps({"prompt": "a mug", "refs": ["missing.png"]}),
        json.dumps({"prompt": "a kite", "aspect": "wide"}),
        json.dumps({"prompt": "a boat", "n": 2}),
    ]), encoding="utf-8")
    result = cli("image", "--batch", str(batch), "-o", str(tmp_path / "out"), data=tmp_path)
    assert result.returncode == 2
    assert [p.name[:5] for p in pngs(tmp_path / "out")] == ["001-a", "005-1", "005-2"]
    assert f"{batch}:2: not valid JSON" in result.stderr
    assert f"{batch}:3: reference image not found" in result.stderr
    assert "--aspect: aspect ratio 'wide' is not W:H" in result.stderr


def test_bad_flags_exit_2_and_write_nothing(tmp_path: Path) -> None:
    result = cli("image", "a fox", "--aspect", "16-9", "-o", str(tmp_path / "out"), data=tmp_path)
    assert result.returncode == 2 and "aspect ratio '16-9' is not W:H" in result.stderr
    assert not pngs(tmp_path / "out")
    neither = cli("image", "-o", str(tmp_path / "out"), data=tmp_path)
    assert neither.returncode == 2 and "give a PROMPT or --batch FILE" in neither.stderr


def test_an_unconfigured_provider_says_which_variable_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run([sys.executable, "-m", "reelforge", "image", "a fox", "--provider", "openai", "-o",
                             str(tmp_path)], capture_output=True, text=True, env={**env, "REELFORGE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "OPENAI_API_KEY is not set" in result.stderr
    listing = cli("providers", data=tmp_path, env={"GEMINI_API_KEY": "x"})
    assert listing.returncode == 0
    images = provider_lines(listing.stdout)["image"]
    assert set(images) == {"local", "gemini", "imagen", "openai", "flux", "sdwebui"}
    assert "available" in images["gemini"] and "unavailable" not in images["gemini"]


def provider_lines(stdout: str) -> dict[str, dict[str, str]]:
    """`reelforge providers` output: {capability: {provider: its status line}}."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.endswith(" providers") and not line.startswith(" "):
            current = sections.setdefault(line.split()[0], {})
        elif line.startswith("  ") and not line.startswith("   "):
            current[line.split()[0]] = line
    return sections


def test_providers_lists_every_capability_and_asks_user_run_servers(tmp_path: Path) -> None:
    import http.server
    import socket
    import threading

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    listing = cli("providers", data=tmp_path, env={"REELFORGE_SDWEBUI_BASE_URL": dead})
    sections = provider_lines(listing.stdout)
    assert {"image", "cutout", "vision", "video"} <= set(sections)
    assert f"unavailable: no server answers at {dead}" in sections["image"]["sdwebui"]

    class Ping(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        alive = f"http://127.0.0.1:{server.server_address[1]}"
        listing = cli("providers", data=tmp_path, env={"REELFORGE_SDWEBUI_BASE_URL": alive})
        assert provider_lines(listing.stdout)["image"]["sdwebui"].split()[1] == "available"
    finally:
        server.shutdown()
        server.server_close()
    # a generation against the dead server fails at once, naming the URL (no seconds of retries)
    result = cli("image", "a fox", "-p", "sdwebui", "-o", str(tmp_path / "out"), data=tmp_path,
                 env={"REELFORGE_SDWEBUI_BASE_URL": dead})
    assert result.returncode != 0 and f"nothing answers at {dead}/sdapi/v1/txt2img" in result.stdout + result.stderr
    assert "0 retried" in result.stdout


def test_local_variants_differ_like_seeds(tmp_path: Path) -> None:
    import hashlib

    result = cli("image", "a red sneaker", "-n", "4", "-o", str(tmp_path / "out"), data=tmp_path)
    assert result.returncode == 0, result.stderr
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in pngs(tmp_path / "out")}
    assert len(digests) == 4


def test_runs_list_and_show_report_state_steps_and_cost(tmp_path: Path, gemini: FakeImageAPI) -> None:
    gemini.script = ["503", "ok"]
    done = cli("image", "a red fox", "--provider", "gemini", "--rpm", "0", "-o", str(tmp_path / "out"),
               env={**gemini.env(), "REELFORGE_LIMITS": json.dumps({"gemini": {"backoff_initial_s": 0.05}})}, data=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split("run ")[1].split(":")[0]
    listing = cli("runs", "list", data=tmp_path)
    assert run_id in listing.stdout and "succeeded" in listing.stdout and "$0.0390" in listing.stdout
    shown = cli("runs", "show", run_id[:6], data=tmp_path)
    assert shown.returncode == 0
    assert '"retries": 1' in shown.stdout and "attempts 2" in shown.stdout and "succeeded" in shown.stdout
    assert cli("runs", "show", "nope", data=tmp_path).returncode == 2


def test_a_killed_batch_resumes_without_requesting_finished_prompts(tmp_path: Path) -> None:
    prompts = [f"scene {i}: a lighthouse at dusk" for i in range(12)]
    batch = tmp_path / "prompts.txt"
    batch.write_text("\n".join(prompts), encoding="utf-8")
    out = tmp_path / "out"
    with FakeImageAPI("gemini", delay=0.4) as api:
        env = {**os.environ, **api.env(), "REELFORGE_DATA_DIR": str(tmp_path)}
        args = [sys.executable, "-m", "reelforge", "image", "--batch", str(batch), "--provider", "gemini",
                "--concurrency", "2", "--rpm", "0", "-o", str(out)]
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(api.prompts(status=200)) < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        finished = {p.name.split("-")[0] for p in pngs(out)}
        first_run = len(api.calls)
        assert 2 <= len(finished) < len(prompts)  # killed mid-way, some images done
        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        again = set(api.prompts(since=first_run))
    finished_prompts = {prompts[int(i) - 1] for i in finished}
    assert not again & finished_prompts  # nothing finished was requested (or paid for) again
    assert again <= set(prompts) - finished_prompts
    assert len(pngs(out)) == len(prompts)
    listing = cli("runs", "list", data=tmp_path)
    assert "interrupted" in listing.stdout


def test_dry_run_needs_no_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    result = subprocess.run([sys.executable, "-m", "reelforge", "image", "a fox", "-n", "3", "--provider", "openai",
                             "--dry-run"], capture_output=True, text=True,
                            env={**env, "REELFORGE_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "estimate only" in result.stderr and "estimated cost $0.1260" in result.stdout
