"""``python -m components.data.synth_resistors``: contact sheets of every family under ``docs/synth/``."""

from components.data.synth_resistors.sheets import main

main()
