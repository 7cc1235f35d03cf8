"""Regenerate the example media in this folder (CC0, made by reelforge's authors).

    python examples/media/make_media.py

clip.mp4   4 s 640x360 30 fps test pattern with a 440 Hz tone (H.264 + AAC)
music.m4a  16 s four-chord pad (Am F C G), synthesized with numpy
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from reelforge.ffmpeg.binary import ffmpeg_path

HERE = Path(__file__).resolve().parent
RATE = 48000
CHORDS = [(220.0, 261.63, 329.63), (174.61, 220.0, 261.63), (130.81, 164.81, 196.0), (196.0, 246.94, 293.66)]


def pad_music(seconds_per_chord: float = 4.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds_per_chord)) / RATE
    envelope = np.minimum(1.0, t / 0.6) * np.minimum(1.0, (seconds_per_chord - t) / 0.8)
    pieces = []
    for chord in CHORDS:
        tone = sum(np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in chord)
        pulse = 0.75 + 0.25 * np.sin(2 * np.pi * 2.0 * t)  # a gentle 120 bpm swell
        pieces.append(tone * envelope * pulse)
    mono = np.concatenate(pieces)
    mono = 0.25 * mono / np.abs(mono).max()
    return np.stack([mono, np.roll(mono, 240)], axis=1)  # 5 ms offset: a little stereo width


def write_music(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "music.wav"
        with wave.open(str(wav), "wb") as fh:
            fh.setnchannels(2)
            fh.setsampwidth(2)
            fh.setframerate(RATE)
            fh.writeframes((pad_music() * 32767).astype("<i2").tobytes())
        subprocess.run([ffmpeg_path(), "-y", "-v", "error", "-i", str(wav), "-c:a", "aac", "-b:a", "96k", str(path)], check=True)


def write_clip(path: Path) -> None:
    subprocess.run([
        ffmpeg_path(), "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=4",
        "-f", "lavfi", "-i", "sine=f=440:d=4:r=48000", "-c:v", "libx264", "-preset", "slow", "-crf", "30",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", str(path),
    ], check=True)


if __name__ == "__main__":
    write_music(HERE / "music.m4a")
    write_clip(HERE / "clip.mp4")
