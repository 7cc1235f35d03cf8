"""The local motion engine: real motion made on this machine, no key, no network.

- `kenburns`: a still animated as an eased zoom and pan (image-to-video);
- `morph`: first + last frame joined by a dense optical-flow morph (objects travel);
- `card`: text-to-video as an animated draft card;
- `extend`: a clip continued from its last frame;
- `encode`: frames (RGB numpy arrays) piped into ffmpeg as an H.264 MP4.
"""
