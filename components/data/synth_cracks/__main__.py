"""``python -m components.data.synth_cracks``: the crack contact sheets under ``docs/``."""

import argparse

from components.data.synth_cracks.sheets import main

argparse.ArgumentParser(prog="python -m components.data.synth_cracks", description=__doc__).parse_args()
main()
