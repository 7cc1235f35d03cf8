from reelforge.cli.main import run

run()
