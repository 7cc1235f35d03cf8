"""Background-removal providers: the local engine and cloud APIs behind one `Cutout` protocol."""
