"""The local motion engine: real motion made on this machine, no key, no network.

- `kenburns`: a still animated as an eased zoom and pan (image-to-video);
- `morph`: first + last frame joined by a dense optical-flow morph (objects travel);
- `card`: text-to-video as an animated draft card;
- `extend`: a clip continued from its last frame.

Pure frame operations (numpy/OpenCV); encoding lives in `reelforge.ffmpeg.frames` and the
provider that puts them together in `reelforge.providers.video.local`.
"""
