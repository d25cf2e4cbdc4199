"""``python -m components.data.synth_cracks``: the crack contact sheets under ``docs/``."""

from components.data.synth_cracks.sheets import main

main()
