"""Local background removal: `key` (exact, plain backdrops), `ml` (rembg), `refine` (matting), `auto`."""
