"""``python -m components.data.synth_resistors``: contact sheets of every family under ``docs/synth/``."""

import argparse

from components.data.synth_resistors.sheets import main

argparse.ArgumentParser(prog="python -m components.data.synth_resistors", description=__doc__).parse_args()
main()
